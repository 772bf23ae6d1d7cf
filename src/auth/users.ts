import type { Permissions } from "./permissions.js";
import { isValidPublicUserKey, verifyNonceSignature } from "./nkeys.js";

/** One configured user. */
export interface User {
  user: string;
  password: string;
  permissions?: Permissions;
}

/**
 * A user known by an nkey (nats-server `users: [{ nkey: "U...", permissions }]`): the client
 * proves it holds the key by signing the nonce the server sent in INFO.
 */
export interface NkeyUser {
  /** The public user nkey: `U` and 55 base32 characters. */
  nkey: string;
  permissions?: Permissions;
}

/** What the server is configured to accept. */
export interface AuthConfig {
  users?: User[];
  /** nkey users; when there are any, every connection gets a nonce in INFO. */
  nkeys?: NkeyUser[];
  token?: string;
}

/** Credentials a client sent in CONNECT. */
export interface Credentials {
  user?: string;
  pass?: string;
  auth_token?: string;
  /** The public nkey and its signature (base64url) of the INFO nonce. */
  nkey?: string;
  sig?: string;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  // node:crypto is loaded on the first password check, not at start-up (issue 15).
  return x.length === y.length && process.getBuiltinModule("node:crypto").timingSafeEqual(x, y);
}

/**
 * Refuse a configuration nats-server refuses: an nkey that is not a valid public user key
 * (its text, opts.go). Called when the server starts and when its users are reloaded.
 */
export function checkAuthConfig(cfg: AuthConfig): void {
  for (const u of cfg.nkeys ?? []) {
    if (!isValidPublicUserKey(u.nkey)) throw new Error(`nkey user "${u.nkey}": Not a valid public nkey for a user`);
  }
}

/** True when the server requires a client to authenticate. */
export function authRequired(cfg: AuthConfig): boolean {
  return (cfg.users !== undefined && cfg.users.length > 0) || nonceRequired(cfg) || cfg.token !== undefined;
}

/** nats-server sends a nonce in INFO when nkey users are configured (`nonceRequired`). */
export function nonceRequired(cfg: AuthConfig): boolean {
  return cfg.nkeys !== undefined && cfg.nkeys.length > 0;
}

/**
 * Check CONNECT credentials. Returns the matched user (its name, or its public nkey; "" for a
 * token), or null when they are refused. `nonce` is the one this connection's INFO carried ("" when
 * none was sent). As nats-server does, a client that names an nkey is checked against the nkey
 * users only: a signature that is missing, malformed or wrong refuses it.
 */
export function authenticate(cfg: AuthConfig, creds: Credentials, nonce = ""): { user: string; permissions?: Permissions } | null {
  if (!authRequired(cfg)) return { user: "" };
  if (nonceRequired(cfg) && creds.nkey !== undefined && creds.nkey !== "") {
    const nkey = creds.nkey;
    const u = cfg.nkeys?.find((x) => x.nkey === nkey);
    if (u === undefined || nonce === "" || creds.sig === undefined || creds.sig === "") return null;
    if (!verifyNonceSignature(nkey, nonce, creds.sig)) return null;
    return u.permissions === undefined ? { user: u.nkey } : { user: u.nkey, permissions: u.permissions };
  }
  if (cfg.token !== undefined && typeof creds.auth_token === "string" && same(creds.auth_token, cfg.token)) {
    return { user: "" };
  }
  if (cfg.users !== undefined && typeof creds.user === "string") {
    const u = cfg.users.find((x) => x.user === creds.user);
    if (u !== undefined && typeof creds.pass === "string" && same(creds.pass, u.password)) {
      return u.permissions === undefined ? { user: u.user } : { user: u.user, permissions: u.permissions };
    }
  }
  return null;
}
