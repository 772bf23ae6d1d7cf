import type { ConfMap, ConfValue } from "./conf-parser.js";
import { toDurationMs } from "./conf-parser.js";

/** A user as the config file and flags give it (mirrors auth/users.ts without importing the server). */
export interface ConfUser {
  user: string;
  password: string;
  /** The account of `accounts {}` it belongs to; absent: the global account. */
  account?: string;
  permissions?: {
    publish?: { allow?: string[]; deny?: string[] };
    subscribe?: { allow?: string[]; deny?: string[] };
    allowResponses?: { max: number; expiresMs: number };
  };
}

/** An nkey user as the config file gives it (`users: [{ nkey: "U...", permissions }]`; mirrors auth/users.ts NkeyUser). */
export interface ConfNkeyUser {
  nkey: string;
  account?: string;
  permissions?: ConfUser["permissions"];
}

/** Config values read as one type, or an error naming the key. */
export const str = (v: ConfValue | undefined, key: string): string | undefined => {
  if (v === undefined) return undefined;
  if (typeof v === "string" || typeof v === "number") return String(v);
  throw new Error(`${key}: expected a string`);
};
export const num = (v: ConfValue | undefined, key: string): number | undefined => {
  if (v === undefined) return undefined;
  if (typeof v === "number") return v;
  if (typeof v === "string" && /^-?\d+$/.test(v)) return Number(v);
  throw new Error(`${key}: expected a number`);
};
export const strList = (v: ConfValue | undefined, key: string): string[] | undefined => {
  if (v === undefined) return undefined;
  if (typeof v === "string") return [v];
  if (Array.isArray(v)) return v.map((x) => str(x, key) as string);
  throw new Error(`${key}: expected a subject or a list of subjects`);
};
export const isMap = (v: ConfValue | undefined): v is ConfMap => typeof v === "object" && v !== null && !Array.isArray(v);

function subjectPerm(v: ConfValue | undefined, key: string): { allow?: string[]; deny?: string[] } | undefined {
  if (v === undefined) return undefined;
  if (isMap(v)) {
    const out: { allow?: string[]; deny?: string[] } = {};
    const allow = strList(v["allow"], `${key}.allow`);
    const deny = strList(v["deny"], `${key}.deny`);
    if (allow !== undefined) out.allow = allow;
    if (deny !== undefined) out.deny = deny;
    return out;
  }
  // A bare list is the allow list (nats-server).
  return { allow: strList(v, key) ?? [] };
}

/** A public user nkey's shape (`U` and 55 base32 characters); the server checks its checksum when it starts. */
const PUBLIC_USER_NKEY = /^U[A-Z2-7]{55}$/;

/** One entry of a `users` list; `where` names it in errors (`authorization.users[0]`). */
export function parseUser(v: ConfValue, where: string): ConfUser | ConfNkeyUser {
  if (!isMap(v)) throw new Error(`${where}: expected a block`);
  let permissions: ConfUser["permissions"];
  const p = v["permissions"];
  if (isMap(p)) {
    permissions = {};
    const pub = subjectPerm(p["publish"] ?? p["pub"], "publish");
    const sub = subjectPerm(p["subscribe"] ?? p["sub"], "subscribe");
    if (pub !== undefined) permissions.publish = pub;
    if (sub !== undefined) permissions.subscribe = sub;
    const ar = p["allow_responses"];
    if (ar === true) permissions.allowResponses = { max: 1, expiresMs: 120_000 };
    else if (isMap(ar)) permissions.allowResponses = { max: num(ar["max"], "max") ?? 1, expiresMs: toDurationMs(ar["expires"], "expires") ?? 120_000 };
  }
  const nkey = str(v["nkey"], "nkey");
  const name = str(v["user"] ?? v["username"], "user");
  const password = str(v["password"] ?? v["pass"], "password");
  if (nkey !== undefined && nkey !== "") {
    // nats-server's texts (opts.go parseUsers).
    if (!PUBLIC_USER_NKEY.test(nkey)) throw new Error(`${where}: Not a valid public nkey for a user`);
    if (name !== undefined || password !== undefined) throw new Error(`${where}: Nkey users do not take usernames or passwords`);
    return permissions === undefined ? { nkey } : { nkey, permissions };
  }
  const user: ConfUser = { user: name ?? "", password: password ?? "" };
  if (permissions !== undefined) user.permissions = permissions;
  return user;
}

