import { MAX_CLIENT_PROTOCOL, accountRequested, type ParsedConnect } from "../protocol/connect.js";
import { ErrText } from "../protocol/errors.js";
import { authenticate, type AuthConfig, type Authenticated } from "../auth/users.js";

/** A CONNECT's verdict: who the client is, or the `-ERR` text and close reason that refuse it. */
export type ConnectVerdict = { auth: Authenticated } | { error: string; reason: string };

/**
 * nats-server's processConnect checks, in its order: authentication, then the account fields (no
 * longer supported: refused as an authorization violation), the protocol, no_responders.
 * `nonce`: the one this connection's INFO carried ("" when none).
 */
export function checkConnect(cfg: AuthConfig, c: ParsedConnect, nonce: string): ConnectVerdict {
  const auth = authenticate(cfg, c.creds, nonce);
  if (auth === null || accountRequested(c)) return { error: ErrText.authViolation, reason: "Authentication Failure" };
  if (c.opts.protocol < 0 || c.opts.protocol > MAX_CLIENT_PROTOCOL) return { error: ErrText.badClientProtocol, reason: "Bad Client Protocol Version" };
  if (c.opts.no_responders && !c.opts.headers) return { error: ErrText.noRespondersRequiresHeaders, reason: "No Responders Requires Headers" };
  return { auth };
}
