/**
 * How a NATS Streaming channel maps onto JetStream (docs/stan.md): each channel is one stream,
 * `STAN_<channel, escaped>`, holding one subject, `_STAN.ch.<channel>`; a subscription is one
 * consumer of it, a durable one named after the client and durable name (or the durable queue
 * group). Escaping keeps every name reversible and inside what a stream or consumer name may hold
 * (no `.`, `*`, `>`, whitespace or path separator): letters, digits and `_-:=+,@` stay, `.` becomes
 * `~`, and every other character becomes `%XX` per UTF-8 byte.
 */

/** Prefix of a channel's stream name. */
export const CHANNEL_STREAM_PREFIX = "STAN_";
/** Prefix of a channel's subject in its stream. */
export const CHANNEL_SUBJECT_PREFIX = "_STAN.ch.";

/** nats-streaming-server's clientID rule: letters, digits, `-` and `_`. */
const CLIENT_ID = /^[a-zA-Z0-9_-]+$/;

/** Is `id` a client id nats-streaming-server takes? */
export function isValidClientID(id: string): boolean {
  return CLIENT_ID.test(id);
}

/**
 * nats-streaming-server's IsChannelNameValid without wildcards: not empty, no empty token (no
 * leading, trailing or doubled `.`), no `/`, `*` or `>`; and no whitespace, which no NATS subject holds.
 */
export function isValidChannel(channel: string): boolean {
  if (channel === "" || channel.length > MAX_CHANNEL_NAME_CHARS) return false;
  if (channel.startsWith(".") || channel.endsWith(".") || channel.includes("..")) return false;
  return !/[/*>\s]/.test(channel);
}

/** Longest channel name taken, in characters (a stream name is 255 bytes at most; escaping can triple). */
export const MAX_CHANNEL_NAME_CHARS = 80;

/** Characters a name keeps as they are. */
const KEPT = /^[A-Za-z0-9_\-:=+,@]$/;

/** Escape a channel, client id or durable name for use inside a stream or consumer name. */
export function escapeName(s: string): string {
  let out = "";
  for (const ch of s) {
    if (ch === ".") out += "~";
    else if (KEPT.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, "utf8")) out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * The inverse of escapeName: `~` back to `.`, each run of `%XX` back to its UTF-8 bytes. Used to read
 * a durable's name back from its consumer's name (the monitoring endpoints show it).
 */
export function unescapeName(s: string): string {
  if (!s.includes("~") && !s.includes("%")) return s;
  const bytes: number[] = [];
  let out = "";
  const flush = (): void => {
    if (bytes.length === 0) return;
    out += Buffer.from(bytes).toString("utf8");
    bytes.length = 0;
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === "%" && /^[0-9A-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
      continue;
    }
    flush();
    out += c === "~" ? "." : c;
  }
  flush();
  return out;
}

/** The stream a channel is kept in. */
export function channelStream(channel: string): string {
  return CHANNEL_STREAM_PREFIX + escapeName(channel);
}

/** The subject a channel's messages have in its stream. */
export function channelSubject(channel: string): string {
  return CHANNEL_SUBJECT_PREFIX + channel;
}

/**
 * The durable consumer of a durable subscription, one per client id and durable name on its
 * channel's stream: `D:<client id>:<durable>` (a client id holds no `:`, so the split is unique).
 */
export function durableConsumer(clientID: string, durableName: string): string {
  return `D:${clientID}:${escapeName(durableName)}`;
}

/**
 * The durable consumer of a durable queue group (`durable:queue` in nats-streaming-server, which
 * refuses a `:` in such a durable name): `Q:<durable>:<queue>`.
 */
export function queueDurableConsumer(durableName: string, queue: string): string {
  return `Q:${escapeName(durableName)}:${escapeName(queue)}`;
}

/**
 * The consumer of a plain (not durable) subscription: `S:<client id>:<subscription number>`. It is
 * a JetStream durable so that its position survives a restart while its client is registered; it
 * is removed when the subscription or its client closes.
 */
export function plainConsumer(clientID: string, subId: number): string {
  return `S:${clientID}:${subId}`;
}

/** The consumer of a queue group that is not durable (`G:<queue>`), removed when its last member leaves. */
export function queueConsumer(queue: string): string {
  return `G:${escapeName(queue)}`;
}

/** Is this consumer one the adapter removes with its subscription (`S:` or `G:`), not a durable it keeps? */
export function isTransientConsumer(name: string): boolean {
  return name.startsWith("S:") || name.startsWith("G:");
}
