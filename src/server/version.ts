/**
 * The nats-server version whose client-visible behaviour cuebus matches. It goes in INFO's
 * `version` so clients' feature checks pass; it is the Debian build we compare against byte for byte.
 */
export const NATS_COMPAT_VERSION = "2.9.10";
/** nats-server's protocol level (PROTO). */
export const NATS_PROTO = 1;
/** cuebus's own name and version, sent in INFO's `cuebus` field. */
export const CUEBUS_VERSION = "0.1.0";
