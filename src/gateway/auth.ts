import type { IncomingMessage } from "node:http";
import { authRequired, authenticate, type AuthConfig } from "../auth/users.js";
import { PermissionCheck, publishPermission, type Permissions } from "../auth/permissions.js";
import { HttpError } from "./http-util.js";
import { isStrictBase64 } from "./strict-base64.js";
import { checkAnonymous, type ApiOpenTo } from "./access.js";

/** Who an HTTP request acts as, with the same publish/subscribe checks as a NATS connection. */
export interface HttpIdentity {
  /** The user name ("" for the token or when auth is off). */
  user: string;
  pub: PermissionCheck;
  sub: PermissionCheck;
}

const OPEN: HttpIdentity = { user: "", pub: new PermissionCheck(undefined), sub: new PermissionCheck(undefined) };
const CHALLENGE = { "www-authenticate": 'Bearer realm="cuebus", Basic realm="cuebus"' };

/** Per-permissions-object checks, so each user's match cache is kept across requests. */
const checks = new WeakMap<Permissions, { pub: PermissionCheck; sub: PermissionCheck }>();

/**
 * Authenticate an HTTP request the way CONNECT is authenticated: `Authorization: Bearer <token>`
 * (the server token, or `user:password` when only users are configured) or `Basic` credentials.
 * Throws 401 with a challenge when auth is on and the credentials are missing or wrong. When auth is
 * off, `openTo` says who may call without credentials (403 for others; `all` for the monitoring
 * routes, which nobody needs credentials for).
 */
export function httpIdentity(cfg: AuthConfig, req: IncomingMessage, openTo: ApiOpenTo = "all", account = "$G"): HttpIdentity {
  if (!authRequired(cfg)) {
    checkAnonymous(openTo, req);
    return OPEN;
  }
  const h = req.headers.authorization;
  if (h === undefined) throw new HttpError(401, "authorization required: Bearer token or Basic credentials", undefined, CHALLENGE);
  const sp = h.indexOf(" ");
  const scheme = (sp < 0 ? h : h.slice(0, sp)).toLowerCase();
  const value = sp < 0 ? "" : h.slice(sp + 1).trim();
  let matched: ReturnType<typeof authenticate> = null;
  // Credentials must be given: `no_auth_user` (a CONNECT without any) is for NATS clients only.
  if (scheme === "bearer" && value !== "") {
    matched = authenticate(cfg, { auth_token: value });
    if (matched === null && value.includes(":")) matched = userPass(cfg, value);
  } else if (scheme === "basic" && isStrictBase64(value)) {
    // RFC 7617: base64 of `user:password`; a lenient decode would let mangled credentials match.
    matched = userPass(cfg, Buffer.from(value, "base64").toString("utf8"));
  }
  if (matched === null) throw new HttpError(401, "authorization violation", undefined, CHALLENGE);
  // The HTTP edge acts in one account (JetStream's): another account's user would reach streams
  // and subjects its own connections cannot see.
  if ((matched.account ?? "$G") !== account) throw new HttpError(403, `user "${matched.user}" belongs to account "${matched.account ?? "$G"}"; the HTTP edge serves account "${account}"`);
  const perms = matched.permissions;
  if (perms === undefined) return { ...OPEN, user: matched.user };
  let c = checks.get(perms);
  if (c === undefined) {
    c = { pub: new PermissionCheck(publishPermission(perms)), sub: new PermissionCheck(perms.subscribe) };
    checks.set(perms, c);
  }
  return { user: matched.user, pub: c.pub, sub: c.sub };
}

function userPass(cfg: AuthConfig, s: string): ReturnType<typeof authenticate> {
  const i = s.indexOf(":");
  if (i <= 0) return null;
  return authenticate(cfg, { user: s.slice(0, i), pass: s.slice(i + 1) });
}

/** 403 unless `who` may publish to `subject` (nats-server's permissions violation wording). */
export function checkPublish(who: HttpIdentity, subject: string): void {
  if (!who.pub.allowed(subject)) throw new HttpError(403, `Permissions Violation for Publish to "${subject}"`);
}

/** 403 unless `who` may subscribe to `subject`. */
export function checkSubscribe(who: HttpIdentity, subject: string): void {
  if (!who.sub.allowedSub(subject, "")) throw new HttpError(403, `Permissions Violation for Subscription to "${subject}"`);
}
