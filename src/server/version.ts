/**
 * The nats-server version cuebus announces in INFO's `version`, which clients' feature checks read.
 * Behaviour is compared byte for byte against Debian's nats-server 2.9.10, but cuebus announces
 * 2.10.0 because it serves the 2.10 consumer features official clients refuse to send to an older
 * server: consumer `metadata` (which names a dead-letter stream) and `filter_subjects`.
 */
export const NATS_COMPAT_VERSION = "2.10.0";
/** nats-server's protocol level (PROTO). */
export const NATS_PROTO = 1;
/** cuebus's own name and version, sent in INFO's `cuebus` field. */
export const CUEBUS_VERSION = "0.1.0";
