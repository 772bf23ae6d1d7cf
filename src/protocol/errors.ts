/**
 * `-ERR` texts exactly as nats-server sends them (`server/client.go`, `server/parser.go`).
 */
export const ErrText = {
  unknownOp: "Unknown Protocol Operation",
  maxControlLine: "maximum control line exceeded",
  maxPayload: "Maximum Payload Violation",
  authViolation: "Authorization Violation",
  authTimeout: "Authentication Timeout",
  invalidSubject: "Invalid Subject",
  invalidPublishSubject: "Invalid Publish Subject",
  staleConnection: "Stale Connection",
  maxConnections: "maximum connections exceeded",
  maxSubscriptions: "maximum subscriptions exceeded",
  secureRequired: "Secure Connection - TLS Required",
  noHeaders: "Headers Not Supported",
  parserError: "Parser Error",
  badClientProtocol: "invalid client protocol",
  noRespondersRequiresHeaders: "no responders requires headers support",
} as const;

/** `Permissions Violation for Publish to "subject"`. */
export function pubPermissionError(subject: string): string {
  return `Permissions Violation for Publish to "${subject}"`;
}

/** `Permissions Violation for Subscription to "subject"` (with `using queue "q"` when queued). */
export function subPermissionError(subject: string, queue?: string): string {
  return queue === undefined
    ? `Permissions Violation for Subscription to "${subject}"`
    : `Permissions Violation for Subscription to "${subject}" using queue "${queue}"`;
}

/** The full wire line for an error. */
export function errLine(text: string): string {
  return `-ERR '${text}'\r\n`;
}
