/**
 * Every protocol limit as a named constant. Defaults follow nats-server `server/const.go`.
 */
export const Limits = {
  /** nats-server MAX_CONTROL_LINE_SIZE. */
  maxControlLineBytes: 4096,
  /** nats-server MAX_PAYLOAD_SIZE (1 MB). */
  maxPayloadBytes: 1024 * 1024,
  /** nats-server MAX_PENDING_SIZE (64 MB) before a connection is a slow consumer. */
  maxPendingBytes: 64 * 1024 * 1024,
  /** nats-server DEFAULT_MAX_CONNECTIONS. */
  maxConnections: 64 * 1024,
  /** Subscriptions per connection; 0 means unlimited in nats-server, we bound it. */
  maxSubscriptions: 1024 * 1024,
  /** nats-server DEFAULT_PING_INTERVAL (2 minutes). */
  pingIntervalMs: 2 * 60 * 1000,
  /** nats-server DEFAULT_PING_MAX_OUT. */
  maxPingsOutstanding: 2,
  /**
   * nats-server DEFAULT_FLUSH_DEADLINE (`write_deadline`, 10 s): how long a connection being closed
   * may take to drain what it was sent before its socket is dropped with the rest.
   */
  writeDeadlineMs: 10_000,
  /** nats-server AUTH_TIMEOUT (2 s). */
  authTimeoutMs: 2000,
  /** Most tokens a subject may have; bounds trie depth. */
  maxSubjectTokens: 256,
  /** Bounded match cache of the subject index (nats-server slCacheMax / slCacheSweep). */
  matchCacheMax: 1024,
  matchCacheSweep: 256,
} as const;
