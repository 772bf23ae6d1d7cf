import { timingSafeEqual } from "node:crypto";
import type { Permissions } from "./permissions.js";

/** One configured user. */
export interface User {
  user: string;
  password: string;
  permissions?: Permissions;
}

/** What the server is configured to accept. */
export interface AuthConfig {
  users?: User[];
  token?: string;
}

/** Credentials a client sent in CONNECT. */
export interface Credentials {
  user?: string;
  pass?: string;
  auth_token?: string;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** True when the server requires a client to authenticate. */
export function authRequired(cfg: AuthConfig): boolean {
  return (cfg.users !== undefined && cfg.users.length > 0) || cfg.token !== undefined;
}

/**
 * Check CONNECT credentials. Returns the matched user (or an anonymous marker for a token), or null
 * when they are refused.
 */
export function authenticate(cfg: AuthConfig, creds: Credentials): { user: string; permissions?: Permissions } | null {
  if (!authRequired(cfg)) return { user: "" };
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
