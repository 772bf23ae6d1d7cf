import { closeStan, collect, connectStan, publishAll, subscriptionGone, type Stan } from "./stan.js";
import { waitFor } from "./wait.js";

/**
 * One scenario of NATS Streaming clients (node-nats-streaming@0.3.2) and what the monitoring
 * endpoints (`/streaming/*`) answer at two moments. It runs unchanged against the real
 * nats-streaming-server 0.25.3 (scripts/record-stan-monitor.ts records its answers as
 * tests/fixtures/nss-monitor.json) and against cuebus (tests/interop/stan-monitor.test.ts compares).
 *
 * Two clients, c1 and c2, and four channels:
 * - orders: 3 messages, then c1's plain subscription (all available), the queue group `workers`
 *   (c1, then c2 with maxInFlight 7; new only), then a 4th message (c2 publishes it);
 * - payments: 2 messages, c1's durable `dur` (all available, manual acks, maxInFlight 1, never
 *   acks: stalled), and c1's plain subscription (new only, maxInFlight 5, ack wait 10 s);
 * - audit: 1 message, c2's durable queue group `dq`/`grp` (all available) and c2's durable `gone`,
 *   closed (kept offline);
 * - idle: no message, c1's plain subscription (new only).
 * Moment `live` asks every endpoint (with their selectors, paging and the 404s); then c2 closes its
 * connection and moment `closed` asks again (the durable queue group is now kept offline).
 */

/** One HTTP answer: status, content type, and the body (parsed JSON, or the text). */
export interface Exchange {
  status: number;
  contentType: string;
  body: unknown;
}

/** What each moment's requests got, by moment then path. */
export type ScenarioRecord = Record<string, Record<string, Exchange>>;

/** The requests of moment `live`. */
export const LIVE_PATHS = [
  "/streaming/serverz",
  "/streaming/storez",
  "/streaming/clientsz",
  "/streaming/clientsz?subs=1",
  "/streaming/clientsz?client=c1&subs=1",
  "/streaming/clientsz?client=c2",
  "/streaming/clientsz?offset=1&limit=1",
  "/streaming/clientsz?client=nobody",
  "/streaming/channelsz",
  "/streaming/channelsz?subs=1",
  "/streaming/channelsz?channel=orders&subs=1",
  "/streaming/channelsz?channel=payments",
  "/streaming/channelsz?channel=idle&subs=1",
  "/streaming/channelsz?offset=1&limit=2",
  "/streaming/channelsz?subs=1&offset=3",
  "/streaming/channelsz?subs=1&offset=9",
  "/streaming/channelsz?offset=-5&limit=-1",
  "/streaming/channelsz?subs=true",
  "/streaming/channelsz?channel=nowhere",
  "/streaming/isFTActive",
] as const;

/** The requests of moment `closed`. */
export const CLOSED_PATHS = ["/streaming/serverz", "/streaming/clientsz?subs=1", "/streaming/channelsz?subs=1", "/streaming/channelsz?channel=audit&subs=1"] as const;

async function ask(httpUrl: string, path: string): Promise<Exchange> {
  const res = await fetch(`${httpUrl}${path}`);
  const text = await res.text();
  const contentType = res.headers.get("content-type") ?? "";
  return { status: res.status, contentType, body: contentType.startsWith("application/json") ? (JSON.parse(text) as unknown) : text };
}

async function askAll(httpUrl: string, paths: readonly string[]): Promise<Record<string, Exchange>> {
  const out: Record<string, Exchange> = {};
  for (const p of paths) out[p] = await ask(httpUrl, p);
  return out;
}

/**
 * Wait until the server has taken every automatic ack: each subscription of `channel` has no more
 * pending than `pending(sub)` allows (both servers show it the same way, so this waits the same on both).
 */
export async function untilAcked(httpUrl: string, channel: string, pending: (sub: Record<string, unknown>) => number = () => 0): Promise<void> {
  await waitFor(
    async () => {
      const ch = (await ask(httpUrl, `/streaming/channelsz?channel=${encodeURIComponent(channel)}&subs=1`)).body as { subscriptions?: Array<Record<string, unknown>> };
      return (ch.subscriptions ?? []).every((s) => Number(s["pending_count"]) <= pending(s));
    },
    5000,
    `the acks of ${channel}'s subscriptions`,
  );
}

/** Run the scenario against a server with cluster id `test-cluster`; every client it opens is closed before it returns. */
export async function runMonitorScenario(natsUrl: string, httpUrl: string): Promise<ScenarioRecord> {
  const opened: Stan[] = [];
  const connect = async (id: string): Promise<Stan> => {
    const sc = await connectStan("test-cluster", id, natsUrl);
    opened.push(sc);
    return sc;
  };
  try {
    const c1 = await connect("c1");
    const c2 = await connect("c2");
    await publishAll(c1, "orders", ["o-1", "o-2", "o-3"]);
    await publishAll(c1, "payments", ["p-1", "p-2"]);
    await publishAll(c1, "audit", ["a-1"]);

    const plain = await collect(c1, "orders", c1.subscriptionOptions().setDeliverAllAvailable(), true);
    const dur = await collect(c1, "payments", c1.subscriptionOptions().setDeliverAllAvailable().setManualAckMode(true).setMaxInFlight(1).setAckWait(30_000).setDurableName("dur"), false);
    const w1 = await collect(c1, "orders", c1.subscriptionOptions(), true, "workers");
    const w2 = await collect(c2, "orders", c2.subscriptionOptions().setMaxInFlight(7), true, "workers");
    const dq = await collect(c2, "audit", c2.subscriptionOptions().setDeliverAllAvailable().setDurableName("dq"), true, "grp");
    const gone = await collect(c2, "audit", c2.subscriptionOptions().setDeliverAllAvailable().setDurableName("gone"), true);
    await plain.got.until(3);
    await dur.got.until(1);
    await dq.got.until(1);
    await gone.got.until(1);
    // Its ack reaches the server before the close (the close keeps the durable and its position).
    await untilAcked(httpUrl, "audit");
    await subscriptionGone(gone.sub, true);
    const late = await collect(c1, "payments", c1.subscriptionOptions().setMaxInFlight(5).setAckWait(10_000), true);
    await collect(c1, "idle", c1.subscriptionOptions(), true);
    await publishAll(c2, "orders", ["o-4"]);
    await plain.got.until(4);
    await waitFor(() => w1.got.messages.length + w2.got.messages.length === 1, 5000, "o-4 to a member of workers");
    // Automatic acks reach the server (pending counts settle); `dur` never acks its one message.
    await untilAcked(httpUrl, "orders");
    await untilAcked(httpUrl, "payments", (s) => (s["durable_name"] === "dur" ? 1 : 0));
    if (late.got.messages.length !== 0) throw new Error("a new-only subscription got an old message");

    const live = await askAll(httpUrl, LIVE_PATHS);
    await closeStan(c2);
    opened.splice(opened.indexOf(c2), 1);
    // The close is answered once the server has let the client go; its durables stay, offline.
    await waitFor(async () => ((await ask(httpUrl, "/streaming/serverz")).body as { clients: number }).clients === 1, 5000, "c2 to be gone");
    const closed = await askAll(httpUrl, CLOSED_PATHS);
    return { live, closed };
  } finally {
    await Promise.all(opened.map(closeStan));
  }
}

/**
 * Fields whose values differ from run to run or by design between the two servers; only their
 * presence and JSON type are compared. server_id, times, uptime and the inboxes are random or
 * clock-made; `go` names the runtime; fds are the process's; `bytes` and `total_bytes` are each
 * store's own accounting (nats-streaming-server's file store counts its record and index
 * overhead, cuebus its stream's); `limits` depend on the store limits each applies.
 */
export const VARYING_FIELDS: ReadonlySet<string> = new Set(["server_id", "now", "start_time", "uptime", "go", "open_fds", "max_fds", "hb_inbox", "inbox", "ack_inbox", "bytes", "total_bytes"]);

/** Placeholders written into the fixture for values that change every run. */
const NORMALISED: Readonly<Record<string, string>> = { server_id: "<server id>", now: "<time>", start_time: "<time>", uptime: "<uptime>", hb_inbox: "<inbox>", inbox: "<inbox>", ack_inbox: "<inbox>" };

/** The record with run-specific values (ids, times, inboxes) replaced by placeholders, for the fixture. */
export function normalise(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalise);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const placeholder = NORMALISED[k];
    out[k] = placeholder !== undefined && typeof v === "string" ? placeholder : normalise(v);
  }
  return out;
}

/** A subscription's identity for sorting lists both servers may order differently. */
function subKey(s: unknown): string {
  const o = s as Record<string, unknown>;
  return [o["client_id"], o["queue_name"] ?? "", o["durable_name"] ?? "", o["is_offline"], o["max_inflight"], o["ack_wait"]].join("|");
}

function isSubscription(v: unknown): boolean {
  return typeof v === "object" && v !== null && "client_id" in v && "is_durable" in v;
}

function typeOf(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

/**
 * The differences between cuebus's answer and the fixture's: keys present on one side only, JSON
 * types, and values of every field not in VARYING_FIELDS. Subscription lists are compared in a
 * canonical order (nats-streaming-server lists queue groups from a Go map). A queue member's
 * `last_sent` depends on which member the server picked for a message and on where the group
 * started: only the highest over the members of a group in a channel's list is compared.
 */
export function differences(actual: unknown, expected: unknown, path = ""): string[] {
  const te = typeOf(expected);
  const ta = typeOf(actual);
  if (te !== ta) return [`${path}: ${ta} where nats-streaming-server has ${te} (${JSON.stringify(expected)})`];
  if (te === "array") {
    const e = expected as unknown[];
    const a = actual as unknown[];
    if (e.length !== a.length) return [`${path}: ${a.length} entries where nats-streaming-server has ${e.length}`];
    const subs = e.length > 0 && e.every(isSubscription);
    const es = subs ? [...e].sort((x, y) => subKey(x).localeCompare(subKey(y))) : e;
    const as = subs ? [...a].sort((x, y) => subKey(x).localeCompare(subKey(y))) : a;
    const out: string[] = [];
    for (let i = 0; i < es.length; i++) out.push(...differences(as[i], es[i], `${path}[${i}]`));
    // A channel's list holds every member of its queue groups (a client's list only its own).
    if (subs && path.endsWith(".subscriptions")) out.push(...queueLastSent(as, es, path));
    return out;
  }
  if (te === "object") {
    const e = expected as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    const out: string[] = [];
    for (const k of Object.keys(e)) if (!(k in a)) out.push(`${path}.${k}: missing`);
    for (const k of Object.keys(a)) if (!(k in e)) out.push(`${path}.${k}: not in nats-streaming-server's answer`);
    const queueMember = isSubscription(e) && typeof e["queue_name"] === "string" && e["is_offline"] === false;
    for (const k of Object.keys(e)) {
      if (!(k in a)) continue;
      if (VARYING_FIELDS.has(k) || (queueMember && k === "last_sent")) {
        if (typeOf(a[k]) !== typeOf(e[k])) out.push(`${path}.${k}: ${typeOf(a[k])} where nats-streaming-server has ${typeOf(e[k])}`);
        continue;
      }
      out.push(...differences(a[k], e[k], `${path}.${k}`));
    }
    return out;
  }
  return actual === expected ? [] : [`${path}: ${JSON.stringify(actual)} where nats-streaming-server has ${JSON.stringify(expected)}`];
}

/** Per queue group in a subscription list: the highest `last_sent` of its live members. */
function queueLastSent(actual: unknown[], expected: unknown[], path: string): string[] {
  const highest = (list: unknown[]): Map<string, number> => {
    const m = new Map<string, number>();
    for (const s of list) {
      const o = s as Record<string, unknown>;
      if (typeof o["queue_name"] !== "string" || o["is_offline"] !== false) continue;
      const q = o["queue_name"];
      m.set(q, Math.max(m.get(q) ?? 0, Number(o["last_sent"])));
    }
    return m;
  };
  const e = highest(expected);
  const a = highest(actual);
  const out: string[] = [];
  for (const [q, n] of e) if (a.get(q) !== n) out.push(`${path}: queue group ${q}'s highest last_sent is ${a.get(q)} where nats-streaming-server has ${n}`);
  return out;
}
