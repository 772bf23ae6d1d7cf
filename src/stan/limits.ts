import { MAX_CHANNEL_NAME_CHARS } from "./names.js";

/**
 * nats-streaming-server's store limits (stores/store.go StoreLimits, stores/limits.go Build): how
 * many channels there may be, and per channel how many messages, bytes, how old, and how many
 * subscriptions. The message limits become each channel's stream limits (the oldest messages go
 * first); the channel and subscription counts are checked when one more would be made.
 */

/** One channel's limits. In `channels` an absent field inherits the wider one; 0 (or less) is unlimited. */
export interface StanChannelLimits {
  /** Messages kept; the oldest go first (`max_msgs`, `-mm`). */
  maxMsgs?: number;
  /** Bytes of messages kept (`max_bytes`, `-mb`). */
  maxBytes?: number;
  /** How long a message is kept, in ms (`max_age`, `-ma`). */
  maxAgeMs?: number;
  /** Subscriptions of the channel, offline durables included (`max_subs`, `-msu`). */
  maxSubs?: number;
}

/**
 * The store limits as `streaming { store_limits {} }`, the flags and `startServer({ streaming:
 * { limits } })` give them. A global field left out takes nats-streaming-server's default; 0 is
 * unlimited; a negative one is refused.
 */
export interface StanStoreLimits extends StanChannelLimits {
  /** Channels there may be (`max_channels`, `-mc`). */
  maxChannels?: number;
  /** Per-channel overrides by channel name or wildcard pattern (`foo.*`, `foo.>`). */
  channels?: Record<string, StanChannelLimits>;
}

/** A channel's limits with nothing left to inherit: every field set, 0 = unlimited. */
export type ChannelLimits = Required<StanChannelLimits>;

/** nats-streaming-server's DefaultStoreLimits. */
export const STAN_DEFAULT_LIMITS: Readonly<ChannelLimits & { maxChannels: number }> = {
  maxChannels: 100,
  maxMsgs: 1_000_000,
  maxBytes: 1_000_000 * 1024,
  maxAgeMs: 0,
  maxSubs: 1000,
};

/** JetStream's shortest max_age (nats-server), which a channel's stream inherits. */
const MIN_MAX_AGE_MS = 100;

/** The limits checked and resolved, ready to be looked up per channel. */
export class StoreLimits {
  readonly maxChannels: number;
  readonly global: ChannelLimits;
  /** Per-channel patterns, widest first, each with its limits resolved (nothing inherited left). */
  private readonly patterns: Array<{ pattern: string; tokens: string[]; limits: ChannelLimits }> = [];
  private readonly cache = new Map<string, ChannelLimits>();

  /** Check `l` as nats-streaming-server's Build does; throws with its texts. */
  constructor(l: StanStoreLimits = {}) {
    const g = (v: number | undefined, d: number, what: string): number => {
      if (v === undefined) return d;
      if (!Number.isFinite(v)) throw new Error(`${what} limit must be a number (${v})`);
      if (v < 0) throw new Error(`${what} limit cannot be negative (${v})`);
      return v;
    };
    const d = STAN_DEFAULT_LIMITS;
    this.maxChannels = g(l.maxChannels, d.maxChannels, "max channels");
    this.global = {
      maxSubs: g(l.maxSubs, d.maxSubs, "max subscriptions"),
      maxMsgs: g(l.maxMsgs, d.maxMsgs, "max messages"),
      maxBytes: g(l.maxBytes, d.maxBytes, "max bytes"),
      maxAgeMs: g(l.maxAgeMs, d.maxAgeMs, "max age"),
    };
    checkAge(this.global.maxAgeMs, "max age");
    const entries = Object.entries(l.channels ?? {});
    let literals = 0;
    for (const [name, cl] of entries) {
      if (!isValidChannelPattern(name)) throw new Error(`invalid channel name ${JSON.stringify(name)}`);
      if (!/[*>]/.test(name)) {
        literals++;
        if (this.maxChannels > 0 && literals > this.maxChannels) throw new Error(`too many channels defined (${literals}). The max channels limit is set to ${this.maxChannels}`);
      }
      if (cl.maxAgeMs !== undefined && cl.maxAgeMs > 0) checkAge(cl.maxAgeMs, `max age of channel ${JSON.stringify(name)}`);
    }
    // Widest first, so each pattern inherits from the widest-but-one that covers it (nats-streaming-
    // server's applyInheritance, over its sublist's order).
    const sorted = entries.map(([pattern, raw]) => ({ pattern, tokens: pattern.split("."), raw })).sort((a, b) => widerFirst(a.tokens, b.tokens));
    for (const p of sorted) {
      let parent = this.global;
      for (const q of this.patterns) if (patternCovers(q.tokens, p.tokens)) parent = q.limits;
      this.patterns.push({ pattern: p.pattern, tokens: p.tokens, limits: inherit(p.raw, parent) });
    }
  }

  /** The limits of channel `name` (a literal name): the narrowest pattern that matches it, else the global ones. */
  of(name: string): ChannelLimits {
    const hit = this.cache.get(name);
    if (hit !== undefined) return hit;
    const tokens = name.split(".");
    let limits = this.global;
    for (const p of this.patterns) if (patternCovers(p.tokens, tokens)) limits = p.limits;
    if (this.cache.size >= 4096) this.cache.clear();
    this.cache.set(name, limits);
    return limits;
  }
}

function checkAge(ms: number, what: string): void {
  if (ms > 0 && ms < MIN_MAX_AGE_MS) throw new Error(`${what} must be at least ${MIN_MAX_AGE_MS}ms (JetStream's shortest), got ${ms}ms`);
}

/** A per-channel entry over its parent: absent inherits, 0 or less is unlimited (stores/limits.go inheritLimits). */
function inherit(raw: StanChannelLimits, parent: ChannelLimits): ChannelLimits {
  const one = (v: number | undefined, p: number): number => (v === undefined ? p : v <= 0 ? 0 : v);
  return {
    maxMsgs: one(raw.maxMsgs, parent.maxMsgs),
    maxBytes: one(raw.maxBytes, parent.maxBytes),
    maxAgeMs: one(raw.maxAgeMs, parent.maxAgeMs),
    maxSubs: one(raw.maxSubs, parent.maxSubs),
  };
}

/** nats-streaming-server's IsChannelNameValid with wildcards: `*` and `>` whole tokens, `>` last. */
export function isValidChannelPattern(p: string): boolean {
  if (p === "" || p.length > MAX_CHANNEL_NAME_CHARS || /[\s/]/.test(p)) return false;
  const tokens = p.split(".");
  return tokens.every((t, i) => t !== "" && (t.length === 1 || !/[*>]/.test(t)) && (t !== ">" || i === tokens.length - 1));
}

/** Order of the sublist nats-streaming-server resolves limits with: at the first differing token, `>` before `*` before a literal. */
function widerFirst(a: string[], b: string[]): number {
  const rank = (t: string | undefined): number => (t === undefined ? -1 : t === ">" ? 0 : t === "*" ? 1 : 2);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = rank(a[i]) - rank(b[i]);
    if (d !== 0) return d;
  }
  return 0;
}

/** Does pattern `p` cover `s` (a channel name, or another pattern read token by token)? */
function patternCovers(p: string[], s: string[]): boolean {
  for (let i = 0; i < p.length; i++) {
    const t = p[i] as string;
    if (t === ">") return s.length > i;
    const u = s[i];
    if (u === undefined) return false;
    if (t !== "*" && t !== u) return false;
    // A literal or `*` token does not cover a `>` of a pattern (it is wider).
    if (u === ">") return false;
  }
  return p.length === s.length;
}
