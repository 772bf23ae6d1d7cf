import { readdirSync, readFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { uptime } from "../server/monitor.js";
import type { StanChannelSnapshot, StanClientSnapshot, StanMonitor, StanSubSnapshot } from "../stan/monitor.js";
import type { Route, RouteCall, RouteDoc } from "./routes.js";

/**
 * nats-streaming-server's monitoring endpoints (`server/monitor.go`) on the HTTP port, over the
 * STAN adapter's read-only view (stan/monitor.ts): `/streaming/serverz`, `/storez`, `/clientsz`,
 * `/channelsz`, `/isFTActive` and the index at `/streaming`. Field names, types, omitted-when-empty
 * fields, list order, paging (`offset`, `limit`, default 1024), the `subs=1` and `client=` /
 * `channel=` selectors and the plain-text 404s are nats-streaming-server 0.25.3's. Like
 * nats-server's endpoints beside them they take no credentials and show no message contents.
 */

/** The nats-streaming-server version whose protocol and monitoring cuebus follows (`version` of serverz). */
export const STAN_COMPAT_VERSION = "0.25.3";
/** nats-streaming-server's default page size of clientsz and channelsz. */
export const STAN_MONITOR_DEFAULT_LIMIT = 1024;

/** Go's strconv.Atoi as nats-streaming-server reads `subs`, `offset` and `limit`: anything else is 0. */
function atoi(raw: string | null): number {
  if (raw === null || !/^[+-]?\d+$/.test(raw)) return 0;
  const n = Number(raw);
  return Math.max(Number.MIN_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, n));
}

/** nats-streaming-server's getOffsetAndLimit: a negative offset is 0, a limit of 0 or less the default. */
function paging(q: URLSearchParams): { offset: number; limit: number } {
  const offset = Math.max(0, atoi(q.get("offset")));
  const limit = atoi(q.get("limit"));
  return { offset, limit: limit <= 0 ? STAN_MONITOR_DEFAULT_LIMIT : limit };
}

/** The `[min, max)` slice of a list of `total` that a page covers (getMinMaxOffset). */
function page<T>(list: T[], offset: number, limit: number): T[] {
  return list.slice(Math.min(offset, list.length), Math.min(offset + limit, list.length));
}

/**
 * JSON as Go's json.MarshalIndent writes it: two-space indent, and `<`, `>`, `&`, U+2028 and U+2029
 * escaped inside strings (only strings can hold them here: every key is a fixed name).
 */
function goJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function sendJson(res: ServerResponse, value: unknown): void {
  const text = goJson(value);
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Go's http.Error: plain text with a newline, and nosniff. */
function sendText(res: ServerResponse, status: number, text: string): void {
  const body = `${text}\n`;
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

/** Open file descriptors and their limit, where the system says (Linux's /proc); 0 when it does not. */
function fds(): { open: number; max: number } {
  let open = 0;
  let max = 0;
  try {
    open = readdirSync("/proc/self/fd").length;
    const line = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    if (line?.[1] !== undefined) max = Number(line[1]);
  } catch {
    // Not Linux: nats-streaming-server leaves both out then too.
  }
  return { open, max };
}

/** A subscription as nats-streaming-server's Subscriptionz (durable_name and queue_name left out when empty). */
function subscriptionz(s: StanSubSnapshot): Record<string, unknown> {
  const o: Record<string, unknown> = { client_id: s.clientID, inbox: s.inbox, ack_inbox: s.ackInbox };
  if (s.durableName !== "") o["durable_name"] = s.durableName;
  if (s.queueName !== "") o["queue_name"] = s.queueName;
  o["is_durable"] = s.isDurable;
  o["is_offline"] = s.isOffline;
  o["max_inflight"] = s.maxInFlight;
  o["ack_wait"] = s.ackWaitSecs;
  o["last_sent"] = s.lastSent;
  o["pending_count"] = s.pendingCount;
  o["is_stalled"] = s.isStalled;
  return o;
}

/** A client as nats-streaming-server's Clientz: with `subs`, its subscriptions by channel (channels sorted, as Go writes a map). */
function clientz(c: StanClientSnapshot, subs: boolean): Record<string, unknown> {
  const o: Record<string, unknown> = { id: c.id, hb_inbox: c.hbInbox, subs_count: c.subs.length };
  if (subs && c.subs.length > 0) {
    const by = new Map<string, Record<string, unknown>[]>();
    for (const { channel, sub } of c.subs) {
      let list = by.get(channel);
      if (list === undefined) by.set(channel, (list = []));
      list.push(subscriptionz(sub));
    }
    const map: Record<string, unknown> = {};
    for (const name of [...by.keys()].sort()) map[name] = by.get(name);
    o["subscriptions"] = map;
  }
  return o;
}

/** A channel as nats-streaming-server's Channelz (its subscriptions only with `subs`, and only when there are any). */
function channelz(ch: StanChannelSnapshot, subs: boolean): Record<string, unknown> {
  const o: Record<string, unknown> = { name: ch.name, msgs: ch.msgs, bytes: ch.bytes, first_seq: ch.firstSeq, last_seq: ch.lastSeq, subs_count: ch.subsCount };
  if (subs && ch.subs.length > 0) o["subscriptions"] = ch.subs.map(subscriptionz);
  return o;
}

const PAGING: RouteDoc["query"] = {
  offset: { description: "Skip this many entries (sorted by name)", type: "integer" },
  limit: { description: `Return at most this many entries (default ${STAN_MONITOR_DEFAULT_LIMIT})`, type: "integer" },
};

/** The `/streaming/*` routes over `m` (added only when NATS Streaming is on). */
export function streamingRoutes(m: StanMonitor): Route[] {
  const get = (path: string, doc: RouteDoc, handler: (call: RouteCall) => void): Route => ({ method: "GET", path, auth: false, doc, handler });
  const head = (): Record<string, unknown> => ({ cluster_id: m.clusterId, server_id: m.serverId, now: new Date().toISOString() });
  return [
    get("/streaming", { summary: "Index of the NATS Streaming monitoring endpoints (HTML, as nats-streaming-server's)", responses: { "200": "HTML links" } }, (c) => {
      const links = ["serverz", "storez", "clientsz", "channelsz"].map((p) => `<a href="./streaming/${p}">${p}</a><br/>`).join("\n    ");
      const body = `<html lang="en">\n  <head><title>NATS Streaming on cuebus</title></head>\n  <body>\n    ${links}\n  </body>\n</html>\n`;
      c.res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-length": Buffer.byteLength(body) });
      c.res.end(body);
    }),
    get("/streaming/serverz", { summary: "NATS Streaming server information and counters (nats-streaming-server's /streaming/serverz)", responses: { "200": "Serverz JSON" } }, (c) => {
      const t = m.totals();
      const now = new Date();
      const f = fds();
      const o: Record<string, unknown> = {
        cluster_id: m.clusterId,
        server_id: m.serverId,
        version: STAN_COMPAT_VERSION,
        go: "cuebus",
        // cuebus runs NATS Streaming on its own, never in a fault-tolerance group or a cluster.
        state: "STANDALONE",
        now: now.toISOString(),
        start_time: m.startedAt.toISOString(),
        uptime: uptime(now.getTime() - m.startedAt.getTime()),
        clients: t.clients,
        subscriptions: t.subscriptions,
        channels: t.channels,
        total_msgs: t.msgs,
        total_bytes: t.bytes,
        in_msgs: t.inMsgs,
        in_bytes: t.inBytes,
        out_msgs: t.outMsgs,
        out_bytes: t.outBytes,
      };
      if (f.open > 0) o["open_fds"] = f.open;
      if (f.max > 0) o["max_fds"] = f.max;
      sendJson(c.res, o);
    }),
    get("/streaming/storez", { summary: "NATS Streaming store type, limits and totals (nats-streaming-server's /streaming/storez)", responses: { "200": "Storez JSON" } }, (c) => {
      const l = m.limits();
      const t = m.totals();
      sendJson(c.res, {
        ...head(),
        type: m.storeType,
        limits: { max_channels: l.maxChannels, max_msgs: l.maxMsgs, max_bytes: l.maxBytes, max_age: l.maxAgeNs, max_subscriptions: l.maxSubscriptions, max_inactivity: l.maxInactivityNs },
        total_msgs: t.msgs,
        total_bytes: t.bytes,
      });
    }),
    get(
      "/streaming/clientsz",
      {
        summary: "NATS Streaming clients (nats-streaming-server's /streaming/clientsz)",
        query: { subs: { description: "1 lists each client's subscriptions by channel", type: "integer" }, client: { description: "Only this client (its Clientz alone; 404 when unknown)", type: "string" }, ...PAGING },
        responses: { "200": "Clientsz JSON (Clientz with client=)", "404": "Client <id> not found (plain text)" },
      },
      (c) => {
        const subs = atoi(c.query.get("subs")) === 1;
        const one = c.query.get("client") ?? "";
        if (one !== "") {
          const cz = m.client(one);
          if (cz === undefined) return sendText(c.res, 404, `Client ${one} not found`);
          return sendJson(c.res, clientz(cz, subs));
        }
        const { offset, limit } = paging(c.query);
        const ids = m.clientIds();
        const clients: Record<string, unknown>[] = [];
        for (const id of page(ids, offset, limit)) {
          // A client gone since the ids were read is left out (count says how many are shown).
          const cz = m.client(id);
          if (cz !== undefined) clients.push(clientz(cz, subs));
        }
        sendJson(c.res, { ...head(), offset, limit, count: clients.length, total: ids.length, clients });
      },
    ),
    get(
      "/streaming/channelsz",
      {
        summary: "NATS Streaming channels (nats-streaming-server's /streaming/channelsz)",
        query: { subs: { description: "1 details each channel and lists its subscriptions (otherwise only names)", type: "integer" }, channel: { description: "Only this channel (its Channelz alone; 404 when unknown)", type: "string" }, ...PAGING },
        responses: { "200": "Channelsz JSON (Channelz with channel=)", "404": "Channel <name> not found (plain text)" },
      },
      (c) => {
        const subs = atoi(c.query.get("subs")) === 1;
        const one = c.query.get("channel") ?? "";
        if (one !== "") {
          const ch = m.channel(one, subs);
          if (ch === undefined) return sendText(c.res, 404, `Channel ${one} not found`);
          return sendJson(c.res, channelz(ch, subs));
        }
        const { offset, limit } = paging(c.query);
        const names = m.channelNames();
        const shown = page(names, offset, limit);
        const o: Record<string, unknown> = { ...head(), offset, limit, count: shown.length, total: names.length };
        // Without subs nats-streaming-server lists names only; either list is left out when empty.
        if (subs) {
          const channels = m.channels(shown).map((ch) => channelz(ch, true));
          o["count"] = channels.length;
          if (channels.length > 0) o["channels"] = channels;
        } else if (shown.length > 0) o["names"] = shown;
        sendJson(c.res, o);
      },
    ),
    get("/streaming/isFTActive", { summary: "Whether this server is the active one of a fault-tolerance group (nats-streaming-server's /streaming/isFTActive)", responses: { "204": "Not in a fault-tolerance group (cuebus never is), as a standalone nats-streaming-server answers" } }, (c) => {
      c.res.writeHead(204);
      c.res.end();
    }),
  ];
}
