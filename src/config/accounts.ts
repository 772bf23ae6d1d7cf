import type { ConfMap, ConfValue } from "./conf-parser.js";
import { isMap, parseUser, type ConfNkeyUser, type ConfUser } from "./users.js";

/** One account of the config file's `accounts {}` block. */
export interface ConfAccount {
  name: string;
  /** `jetstream: enabled` (or a block of limits): its streams are served by this server's JetStream. */
  jetstream: boolean;
}

/** What `accounts {}` adds: the accounts, and their users (each naming its account). */
export interface ParsedAccounts {
  accounts: ConfAccount[];
  users: ConfUser[];
  nkeys: ConfNkeyUser[];
  /** What the block asked for that cuebus accepts but does not do: one warning line each. */
  warnings: string[];
}

/** The global account nats-server puts every user outside `accounts {}` in. */
export const GLOBAL_ACCOUNT_NAME = "$G";

/**
 * Keys of an account cuebus refuses rather than ignores: each would leave clients with a server
 * that answers differently from the one they were configured for (an import that never delivers,
 * a mapping that never maps).
 */
const REFUSED_ACCOUNT_KEYS: Readonly<Record<string, string>> = {
  imports: "importing from other accounts is not supported by cuebus yet",
  exports: "exporting to other accounts is not supported by cuebus yet",
  mappings: "subject mappings are not supported by cuebus yet",
  maps: "subject mappings are not supported by cuebus yet",
  nkey: "account nkeys (operator mode) are not supported by cuebus",
};

/** nats-server's account `jetstream` values (opts.go parseJetStreamForAccount); a block of limits enables it. */
function accountJetStream(v: ConfValue, where: string, warnings: string[]): boolean {
  if (typeof v === "boolean") return v;
  if (typeof v === "string") {
    const s = v.toLowerCase();
    if (s === "enabled" || s === "enable") return true;
    if (s === "disabled" || s === "disable") return false;
    throw new Error(`${where}: Expected 'enabled' or 'disabled' for string value, got '${v}'`);
  }
  if (isMap(v)) {
    if (Object.keys(v).length > 0) warnings.push(`${where}: account JetStream limits are not enforced by cuebus (JetStream is enabled without them)`);
    return true;
  }
  throw new Error(`${where}: expected enabled, disabled or a block of limits`);
}

/**
 * Read `accounts { NAME { users: [...], jetstream: enabled, default_permissions {...} } }`. Users
 * are checked as nats-server checks them: a name or nkey appears once across every account and
 * the `authorization` block (`known`: the names and nkeys already taken there).
 */
export function parseAccounts(v: ConfValue, known: ReadonlySet<string>): ParsedAccounts {
  if (!isMap(v)) throw new Error("accounts: expected a block of accounts");
  const out: ParsedAccounts = { accounts: [], users: [], nkeys: [], warnings: [] };
  const seen = new Set(known);
  for (const [name, body] of Object.entries(v)) {
    const where = `accounts.${name}`;
    if (name === GLOBAL_ACCOUNT_NAME) throw new Error(`${where}: ${GLOBAL_ACCOUNT_NAME} is the global account's name, it cannot be configured`);
    if (!isMap(body)) throw new Error(`${where}: expected a block`);
    const acc: ConfMap = body;
    let jetstream = false;
    let defaults: ConfUser["permissions"];
    const users: Array<ConfUser | ConfNkeyUser> = [];
    for (const [k, x] of Object.entries(acc)) {
      const key = k.toLowerCase();
      const refused = REFUSED_ACCOUNT_KEYS[key];
      if (refused !== undefined) throw new Error(`${where}.${k}: ${refused}`);
      if (key === "jetstream") jetstream = accountJetStream(x, `${where}.jetstream`, out.warnings);
      else if (key === "users") {
        if (!Array.isArray(x)) throw new Error(`${where}.users: expected a list of users`);
        x.forEach((u, i) => users.push(parseUser(u, `${where}.users[${i}]`)));
      } else if (key === "default_permissions") {
        const p = parseUser({ permissions: x }, `${where}.default_permissions`);
        defaults = p.permissions;
      } else out.warnings.push(`${where}.${k}: not used by cuebus`);
    }
    for (const u of users) {
      const id = "nkey" in u ? u.nkey : u.user;
      // nats-server's texts (opts.go parseAccounts).
      if (seen.has(id)) throw new Error("nkey" in u ? `Duplicate nkey "${id}" detected` : `Duplicate user "${id}" detected`);
      seen.add(id);
      if (u.permissions === undefined && defaults !== undefined) u.permissions = defaults;
      u.account = name;
      if ("nkey" in u) out.nkeys.push(u);
      else out.users.push(u);
    }
    out.accounts.push({ name, jetstream });
  }
  return out;
}

/** nats-server's check of `no_auth_user` (auth.go validateNoAuthUser): it names a configured user. */
export function checkNoAuthUser(name: string, users: readonly ConfUser[] | undefined): void {
  if (users === undefined || users.length === 0) throw new Error(`no_auth_user: "${name}" present, but users are not defined`);
  if (!users.some((u) => u.user === name)) throw new Error(`no_auth_user: "${name}" not present as user in authorization block or account configuration`);
}
