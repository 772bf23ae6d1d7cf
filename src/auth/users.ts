import type { Permissions } from "./permissions.js";
import { isValidPublicUserKey, verifyNonceSignature } from "./nkeys.js";
import { checkNoAuthUser } from "../config/accounts.js";

/** One configured user. */
export interface User {
  user: string;
  password: string;
  permissions?: Permissions;
  /** Its account (`accounts {}`); absent: the global account, `$G`. */
  account?: string;
}

/**
 * A user known by an nkey (nats-server `users: [{ nkey: "U...", permissions }]`): the client
 * proves it holds the key by signing the nonce the server sent in INFO.
 */
export interface NkeyUser {
  /** The public user nkey: `U` and 55 base32 characters. */
  nkey: string;
  permissions?: Permissions;
  account?: string;
}

/** What the server is configured to accept. */
export interface AuthConfig {
  users?: User[];
  /** nkey users; when there are any, every connection gets a nonce in INFO. */
  nkeys?: NkeyUser[];
  token?: string;
  /**
   * nats-server's `no_auth_user`: a client that sends no credentials at all (no user, token or
   * nkey) connects as this user, without its password.
   */
  noAuthUser?: string;
}

/** Who a connection authenticated as: the user (its name, its public nkey, or "" for a token or no auth), its rights and account. */
export interface Authenticated {
  user: string;
  permissions?: Permissions;
  /** Absent: the global account. */
  account?: string;
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
export function checkAuthConfig(cfg: AuthConfig, accounts: ReadonlyArray<{ name: string; jetstream?: boolean }> = []): void {
  for (const u of cfg.nkeys ?? []) {
    if (!isValidPublicUserKey(u.nkey)) throw new Error(`nkey user "${u.nkey}": Not a valid public nkey for a user`);
  }
  const names = new Set(accounts.map((a) => a.name));
  for (const u of [...(cfg.users ?? []), ...(cfg.nkeys ?? [])]) {
    if (u.account !== undefined && !names.has(u.account)) throw new Error(`user "${"nkey" in u ? u.nkey : u.user}": account "${u.account}" is not configured`);
  }
  if (cfg.noAuthUser !== undefined) checkNoAuthUser(cfg.noAuthUser, cfg.users);
  // One JetStream per server, serving one account: several would share one store and one API.
  const js = accounts.filter((a) => a.jetstream === true);
  if (js.length > 1) throw new Error(`accounts: JetStream is enabled for ${js.map((a) => a.name).join(", ")}; cuebus serves JetStream for one account at most`);
}

/** True when the server requires a client to authenticate. */
export function authRequired(cfg: AuthConfig): boolean {
  return (cfg.users !== undefined && cfg.users.length > 0) || nonceRequired(cfg) || cfg.token !== undefined;
}

/** nats-server sends a nonce in INFO when nkey users are configured (`nonceRequired`). */
export function nonceRequired(cfg: AuthConfig): boolean {
  return cfg.nkeys !== undefined && cfg.nkeys.length > 0;
}

/** nats-server uses `no_auth_user` only for a CONNECT without user, password, token or nkey. */
function noCredentials(c: Credentials): boolean {
  return (c.user ?? "") === "" && (c.pass ?? "") === "" && (c.auth_token ?? "") === "" && (c.nkey ?? "") === "";
}

function authenticated(user: string, u: { permissions?: Permissions; account?: string }): Authenticated {
  const a: Authenticated = { user };
  if (u.permissions !== undefined) a.permissions = u.permissions;
  if (u.account !== undefined) a.account = u.account;
  return a;
}

/**
 * Check CONNECT credentials. Returns the matched user (its name, or its public nkey; "" for a
 * token), or null when they are refused. `nonce` is the one this connection's INFO carried ("" when
 * none was sent). As nats-server does, a client that names an nkey is checked against the nkey
 * users only: a signature that is missing, malformed or wrong refuses it.
 */
export function authenticate(cfg: AuthConfig, creds: Credentials, nonce = ""): Authenticated | null {
  if (!authRequired(cfg)) return { user: "" };
  if (cfg.noAuthUser !== undefined && noCredentials(creds)) {
    const u = cfg.users?.find((x) => x.user === cfg.noAuthUser);
    return u === undefined ? null : authenticated(u.user, u);
  }
  if (nonceRequired(cfg) && creds.nkey !== undefined && creds.nkey !== "") {
    const nkey = creds.nkey;
    const u = cfg.nkeys?.find((x) => x.nkey === nkey);
    if (u === undefined || nonce === "" || creds.sig === undefined || creds.sig === "") return null;
    if (!verifyNonceSignature(nkey, nonce, creds.sig)) return null;
    return authenticated(u.nkey, u);
  }
  if (cfg.token !== undefined && typeof creds.auth_token === "string" && same(creds.auth_token, cfg.token)) {
    return { user: "" };
  }
  if (cfg.users !== undefined && typeof creds.user === "string") {
    const u = cfg.users.find((x) => x.user === creds.user);
    if (u !== undefined && typeof creds.pass === "string" && same(creds.pass, u.password)) {
      return authenticated(u.user, u);
    }
  }
  return null;
}
