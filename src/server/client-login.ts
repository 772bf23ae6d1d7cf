import type { Permissions } from "../auth/permissions.js";
import { ConnectionRights } from "../auth/connection-rights.js";
import { newNonce } from "../auth/nkeys.js";
import { authenticate, nonceRequired } from "../auth/users.js";
import { NO_CONNECT, parseConnect, type ConnectOptions, type ParsedConnect } from "../protocol/connect.js";
import type { Account } from "./account.js";
import { checkConnect } from "./connect-check.js";
import type { ServerCore } from "./core.js";
import type { ClientTrace } from "./trace.js";

/** A user without a permissions block: everything allowed. */
const NO_PERMISSIONS: Permissions = {};

/**
 * What a CONNECT comes to: closed without an `-ERR` (`close`: nats-server 2.9 does so when Go
 * cannot decode it), refused with an `-ERR` and a close reason, or accepted with the options
 * the connection now has and the account its user belongs to.
 */
export type LoginResult = { close: string } | { error: string; reason: string } | { opts: ConnectOptions; account: Account };

/**
 * Who a connection is: the nonce its INFO carries, what its CONNECTs so far set (a later CONNECT
 * changes only the fields it names) with the credentials, the user they authenticate, and what
 * that user may publish and subscribe to (its ConnectionRights, one object for the connection's
 * life). The credentials are checked again when the server's users are reloaded.
 */
export class ClientLogin {
  /** The nonce this connection's INFO carries ("" when no nkey users are configured). */
  readonly nonce: string;
  /** The user the credentials authenticated ("" before CONNECT, or without users). */
  user = "";
  /** What the connection may publish and subscribe to. */
  readonly rights = new ConnectionRights();
  private connectState: ParsedConnect = NO_CONNECT;

  constructor(private readonly core: ServerCore) {
    this.nonce = nonceRequired(core.auth) ? newNonce() : "";
  }

  /** A CONNECT (its JSON), checked as nats-server's processConnect checks it; `tr` traces the client's name. */
  connect(json: string, tr: ClientTrace | null): LoginResult {
    const c = parseConnect(json, this.connectState);
    if (c === "unparsable") return { close: "Protocol Violation" };
    tr?.named(c.opts);
    const v = checkConnect(this.core.auth, c, this.nonce);
    if ("error" in v) return v;
    const auth = v.auth;
    this.connectState = c;
    this.user = auth.user;
    if (auth.permissions !== undefined) this.rights.set(auth.permissions);
    return { opts: c.opts, account: this.accountOf(auth.account) };
  }

  /**
   * The server's users changed (a config reload): do the credentials still authenticate a user of
   * `account`? If so, that user's permissions apply from now on; if not, the connection must go.
   */
  recheck(account: Account): boolean {
    const auth = authenticate(this.core.auth, this.connectState.creds, this.nonce);
    if (auth === null || this.accountOf(auth.account) !== account) return false;
    this.user = auth.user;
    this.rights.set(auth.permissions ?? NO_PERMISSIONS);
    return true;
  }

  private accountOf(name: string | undefined): Account {
    const router = this.core.router;
    return name === undefined ? router.global : (router.account(name) ?? router.global);
  }
}
