import type { ConfMap, ConfValue } from "./conf-parser.js";
import { toBytes, toDurationMs } from "./conf-parser.js";
import { checkNoAuthUser, parseAccounts, type ConfAccount } from "./accounts.js";
import { isMap, num, parseUser, str, strList, type ConfNkeyUser, type ConfUser } from "./users.js";
import { parseStreaming, type ConfStreaming } from "./streaming.js";

export { scanFlags } from "./flags.js";
export type { ConfNkeyUser, ConfUser } from "./users.js";

/** Everything the server command needs, from the config file and flags. */
export interface ResolvedOptions {
  /** The client port's address; "" until resolved: see `resolveHosts`. */
  host: string;
  /** No address was given: `host` was chosen by `resolveHosts` (loopback unless credentials are required). */
  hostDefaulted?: boolean;
  /** -1: random. */
  port: number;
  httpHost?: string;
  httpPort?: number;
  serverName?: string;
  portsFileDir?: string;
  jetstream: boolean;
  storeDir: string;
  /** `storeDir` was made for this run (the nats-streaming-server launcher's memory store) and goes at exit. */
  storeDirTemporary?: boolean;
  /** JetStream file durability: `always` (fsync before each ack batch; default) or an interval in ms. */
  syncIntervalMs?: number | "always";
  /** `jetstream { request_queue_limit }`: `$JS.API` requests in flight before more are dropped. */
  requestQueueLimit?: number;
  /** `jetstream { domain }`: the API is served on `$JS.<domain>.API` too, as nats-server maps it. */
  jsDomain?: string;
  /** `-l/--log`, `log_file`: log to this file (appended) instead of stderr. */
  logFile?: string;
  /** `-P/--pid`, `pid_file`: write the process id there. */
  pidFile?: string;
  /** `-T/--logtime`, `logtime`: timestamps on log lines (default true). */
  logtime: boolean;
  /** What the command line or file asked for that cuebus does not do: one warning line each. */
  warnings: string[];
  debug: boolean;
  trace: boolean;
  /** `no_auth_user`: the user a client that sends no credentials connects as. */
  auth: { users?: ConfUser[]; nkeys?: ConfNkeyUser[]; token?: string; noAuthUser?: string };
  /** `accounts {}`: each its own subject space; absent: every client is in the global account. */
  accounts?: ConfAccount[];
  limits: {
    maxPayloadBytes?: number;
    maxControlLineBytes?: number;
    maxPendingBytes?: number;
    maxConnections?: number;
    maxSubscriptions?: number;
    pingIntervalMs?: number;
    maxPingsOutstanding?: number;
    authTimeoutMs?: number;
    writeDeadlineMs?: number;
  };
  /** `websocket { port, host, tls { cert_file, key_file } }`; without tls the listener is plain `ws://` (`no_tls: true`). */
  websocket?: { port: number; host?: string; tls?: { certFile: string; keyFile: string } };
  /**
   * TLS file paths for the client port. `verify`: require a client certificate signed by `caFile`
   * (nats-server `tls { verify: true }`, `--tlsverify`).
   */
  tls?: { certFile: string; keyFile: string; caFile?: string; verify?: boolean };
  /**
   * `allow_non_tls` (top level, as in nats-server 2.9.10, which refuses it inside `tls {}`): with
   * TLS configured, INFO says `tls_available` and a client may connect plain or upgrade.
   */
  allowNonTls?: boolean;
  /** Webhooks of the config file (`webhooks: [{name, url, stream, ...}]`), validated by the gateway at start. */
  webhooks?: ConfWebhook[];
  /** `webhook_allow` / `--webhook_allow`: hosts, IPs and CIDRs webhook targets may point at. */
  webhookAllow?: string[];
  /** `http_api_open_to` / `--http_api_open_to`: who may use the HTTP API without credentials when none are configured. */
  httpApiOpenTo?: "loopback" | "all" | "none";
  /** NATS Streaming: `streaming {}` and `-cid/--cluster_id` (it runs whenever JetStream does unless disabled). */
  streaming?: ConfStreaming;
  /** Keys of the file cuebus does not use, for a warning. */
  unknownKeys: string[];
}

/** A config-file webhook as plain JSON (the gateway's WebhookSpec; checked there, not here). */
export interface ConfWebhook {
  name?: string;
  url: string;
  stream: string;
  [key: string]: unknown;
}

/** Defaults of `cuebus server` / `nats-server`. */
export function defaultOptions(): ResolvedOptions {
  return { host: "", port: 4222, jetstream: false, storeDir: "./data", debug: false, trace: false, logtime: true, auth: {}, limits: {}, unknownKeys: [], warnings: [] };
}

/** Does every client have to authenticate (users, nkeys or a token configured, and no `no_auth_user`)? */
export function credentialsRequired(auth: ResolvedOptions["auth"]): boolean {
  const any = (auth.users?.length ?? 0) + (auth.nkeys?.length ?? 0) > 0 || auth.token !== undefined;
  return any && auth.noAuthUser === undefined;
}

/**
 * Safe by default: with no address given, the client port (and the WebSocket one, which speaks the
 * same protocol) listens on 0.0.0.0 as nats-server's does only when clients must authenticate;
 * without credentials it listens on 127.0.0.1, so nobody on another host can publish or drive
 * JetStream. The HTTP port keeps 0.0.0.0: its monitoring is read-only and its API is loopback-only
 * without credentials (`http_api_open_to`). Called once the file and the flags are applied.
 */
export function resolveHosts(o: ResolvedOptions): void {
  if (o.host !== "") return;
  o.host = credentialsRequired(o.auth) ? "0.0.0.0" : "127.0.0.1";
  o.hostDefaulted = true;
}

/** The HTTP port's address: `http_host`/`-m host:port`, else the client port's when one was given, else 0.0.0.0. */
export function httpHostOf(o: ResolvedOptions): string {
  return o.httpHost ?? (o.hostDefaulted === true ? "0.0.0.0" : o.host);
}

/** `host:port` or `port`; `-1` means random. */
function hostPort(v: ConfValue, key: string): { host?: string; port: number } {
  if (typeof v === "number") return { port: v };
  const s = str(v, key) as string;
  const i = s.lastIndexOf(":");
  if (i < 0) return { port: Number(s) };
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
}

/** Keys we read; everything else is reported as unknown. */
const KNOWN = new Set([
  "port", "host", "net", "listen", "http", "http_port", "monitor_port", "http_host", "server_name",
  "ports_file_dir", "jetstream", "store_dir", "debug", "trace", "logtime", "max_payload", "max_control_line",
  "max_pending", "max_connections", "max_conn", "max_subscriptions", "max_subs", "ping_interval", "ping_max", "write_deadline",
  "authorization", "auth_timeout", "pid_file", "pidfile", "log_file", "logfile", "websocket", "tls", "webhooks", "webhook_allow",
  "http_api_open_to", "allow_non_tls", "accounts", "no_auth_user", "streaming",
]);

/** `http_api_open_to`'s value, checked (the gateway's ApiOpenTo; config/ does not import it). */
export function apiOpenTo(v: ConfValue): "loopback" | "all" | "none" {
  if (v === "loopback" || v === "all" || v === "none") return v;
  throw new Error(`http_api_open_to: expected loopback, all or none, got ${JSON.stringify(v)}`);
}

/**
 * nats-server's checks of `jetstream { domain }` (jetstream.go validateOptions): the API prefix it
 * derives must be a subject, and the name a single token.
 */
function checkDomain(d: string): string {
  const api = `$JS.${d}.API.>`;
  const tokens = api.split(".");
  if (/\s/.test(api) || tokens.some((t, i) => t === "" || (t === ">" && i !== tokens.length - 1))) {
    throw new Error(`invalid domain name: derived "${api}" is not a valid subject`);
  }
  if (/[ \t\r\n\f.*>]/.test(d)) throw new Error("invalid domain name: may not contain ., * or >");
  return d;
}

/** A config value as plain JSON. */
function plain(v: ConfValue): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (isMap(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

/**
 * `accounts {}` and `no_auth_user`: each account's users join the configured ones, naming their
 * account; nats-server's refusals of a single user or a token beside account users (opts.go).
 */
function applyAccounts(o: ResolvedOptions, c: ConfMap): void {
  if (c["accounts"] !== undefined) {
    const known = new Set([...(o.auth.users ?? []).map((u) => u.user), ...(o.auth.nkeys ?? []).map((u) => u.nkey)]);
    const parsed = parseAccounts(c["accounts"], known);
    if (parsed.users.length + parsed.nkeys.length > 0) {
      const a = c["authorization"];
      if (isMap(a) && a["user"] !== undefined) throw new Error("Can not have a single user/pass and accounts");
      if (o.auth.token !== undefined) throw new Error("Can not have a token and accounts");
    }
    if (parsed.accounts.length > 0) o.accounts = parsed.accounts;
    if (parsed.users.length > 0) o.auth.users = [...(o.auth.users ?? []), ...parsed.users];
    if (parsed.nkeys.length > 0) o.auth.nkeys = [...(o.auth.nkeys ?? []), ...parsed.nkeys];
    o.warnings.push(...parsed.warnings);
  }
  const noAuthUser = str(c["no_auth_user"], "no_auth_user");
  if (noAuthUser !== undefined && noAuthUser !== "") {
    checkNoAuthUser(noAuthUser, o.auth.users);
    o.auth.noAuthUser = noAuthUser;
  }
}

/** Apply a parsed config file to `o`. */
export function applyConfig(o: ResolvedOptions, c: ConfMap): void {
  for (const key of Object.keys(c)) if (!KNOWN.has(key)) o.unknownKeys.push(key);
  const host = str(c["host"] ?? c["net"], "host");
  if (host !== undefined) o.host = host;
  if (c["port"] !== undefined) o.port = num(c["port"], "port") as number;
  if (c["listen"] !== undefined) {
    const hp = hostPort(c["listen"], "listen");
    if (hp.host !== undefined) o.host = hp.host;
    o.port = hp.port;
  }
  const http = c["http"] ?? c["http_port"] ?? c["monitor_port"];
  if (http !== undefined) {
    const hp = hostPort(http, "http");
    if (hp.host !== undefined) o.httpHost = hp.host;
    o.httpPort = hp.port;
  }
  const httpHost = str(c["http_host"], "http_host");
  if (httpHost !== undefined) o.httpHost = httpHost;
  const name = str(c["server_name"], "server_name");
  if (name !== undefined) o.serverName = name;
  const pfd = str(c["ports_file_dir"], "ports_file_dir");
  if (pfd !== undefined) o.portsFileDir = pfd;
  const js = c["jetstream"];
  if (js === true || js === "enabled" || js === "enable") o.jetstream = true;
  else if (isMap(js)) {
    o.jetstream = true;
    const sd = str(js["store_dir"], "jetstream.store_dir");
    if (sd !== undefined) o.storeDir = sd;
    // nats-server 2.10's key: `always`, or a duration between background fsyncs.
    const si = js["sync_interval"];
    if (si === "always") o.syncIntervalMs = "always";
    else if (si !== undefined) o.syncIntervalMs = toDurationMs(si, "jetstream.sync_interval");
    const domain = str(js["domain"], "jetstream.domain");
    if (domain !== undefined && domain !== "") o.jsDomain = checkDomain(domain);
    const rql = num(js["request_queue_limit"], "jetstream.request_queue_limit");
    if (rql !== undefined) {
      if (!Number.isSafeInteger(rql) || rql < 1) throw new Error("jetstream.request_queue_limit: expected a number of requests, 1 or more");
      o.requestQueueLimit = rql;
    }
  }
  const sd = str(c["store_dir"], "store_dir");
  if (sd !== undefined) o.storeDir = sd;
  const parsed = parseStreaming(c["streaming"], o.unknownKeys);
  if (parsed !== undefined) {
    const { dir, ...streaming } = parsed;
    o.streaming = { ...o.streaming, ...streaming };
    // nats-streaming-server's `dir`: where its file store lives; here JetStream's store dir, unless
    // the file names that itself.
    const jsDir = isMap(js) ? js["store_dir"] : undefined;
    if (dir !== undefined && jsDir === undefined && sd === undefined) o.storeDir = dir;
  }
  if (c["debug"] === true) o.debug = true;
  if (c["trace"] === true) o.trace = true;
  if (typeof c["logtime"] === "boolean") o.logtime = c["logtime"];
  const logFile = str(c["log_file"] ?? c["logfile"], "log_file");
  if (logFile !== undefined) o.logFile = logFile;
  const pidFile = str(c["pid_file"] ?? c["pidfile"], "pid_file");
  if (pidFile !== undefined) o.pidFile = pidFile;
  const l = o.limits;
  const set = <K extends keyof ResolvedOptions["limits"]>(k: K, v: number | undefined): void => {
    if (v !== undefined) l[k] = v;
  };
  set("maxPayloadBytes", toBytes(c["max_payload"], "max_payload"));
  set("maxControlLineBytes", toBytes(c["max_control_line"], "max_control_line"));
  set("maxPendingBytes", toBytes(c["max_pending"], "max_pending"));
  set("maxConnections", num(c["max_connections"] ?? c["max_conn"], "max_connections"));
  set("maxSubscriptions", num(c["max_subscriptions"] ?? c["max_subs"], "max_subscriptions"));
  set("pingIntervalMs", toDurationMs(c["ping_interval"], "ping_interval"));
  set("maxPingsOutstanding", num(c["ping_max"], "ping_max"));
  set("writeDeadlineMs", toDurationMs(c["write_deadline"], "write_deadline"));
  const a = c["authorization"];
  if (isMap(a)) {
    set("authTimeoutMs", toDurationMs(a["timeout"], "authorization.timeout"));
    const token = str(a["token"], "authorization.token");
    if (token !== undefined) o.auth.token = token;
    const users: ConfUser[] = [];
    const nkeys: ConfNkeyUser[] = [];
    const u = str(a["user"], "authorization.user");
    if (u !== undefined) users.push({ user: u, password: str(a["password"] ?? a["pass"], "authorization.password") ?? "" });
    const list = a["users"];
    if (Array.isArray(list)) {
      list.forEach((x, i) => {
        const entry = parseUser(x, `authorization.users[${i}]`);
        if ("nkey" in entry) nkeys.push(entry);
        else users.push(entry);
      });
    }
    if (users.length > 0) o.auth.users = users;
    if (nkeys.length > 0) o.auth.nkeys = nkeys;
  }
  applyAccounts(o, c);
  set("authTimeoutMs", toDurationMs(c["auth_timeout"], "auth_timeout"));
  const ws = c["websocket"];
  if (isMap(ws)) {
    const hp = ws["listen"] !== undefined ? hostPort(ws["listen"], "websocket.listen") : { port: num(ws["port"], "websocket.port") ?? 8080 };
    const wsHost = hp.host ?? str(ws["host"], "websocket.host");
    o.websocket = wsHost === undefined ? { port: hp.port } : { port: hp.port, host: wsHost };
    const wsTls = ws["tls"];
    if (isMap(wsTls)) {
      const certFile = str(wsTls["cert_file"], "websocket.tls.cert_file");
      const keyFile = str(wsTls["key_file"], "websocket.tls.key_file");
      if (certFile === undefined || keyFile === undefined) throw new Error("websocket.tls: cert_file and key_file are required");
      o.websocket.tls = { certFile, keyFile };
    } else if (ws["no_tls"] !== true) {
      // nats-server 2.9.10's check and text (websocket.go validateWebsocketOptions): plain ws:// only when asked for.
      throw new Error("websocket requires TLS configuration");
    }
  }
  const hooks = c["webhooks"];
  if (hooks !== undefined) {
    if (!Array.isArray(hooks) || !hooks.every(isMap)) throw new Error("webhooks: expected a list of blocks");
    o.webhooks = hooks.map((h) => plain(h) as ConfWebhook);
  }
  const allow = strList(c["webhook_allow"], "webhook_allow");
  if (allow !== undefined) o.webhookAllow = allow;
  if (c["http_api_open_to"] !== undefined) o.httpApiOpenTo = apiOpenTo(c["http_api_open_to"]);
  if (c["allow_non_tls"] !== undefined) {
    if (typeof c["allow_non_tls"] !== "boolean") throw new Error("allow_non_tls: expected true or false");
    o.allowNonTls = c["allow_non_tls"];
  }
  const tls = c["tls"];
  if (isMap(tls)) {
    // nats-server 2.9.10's words (parseTLS): the option is top-level; a user who nests it learns where it goes.
    if (tls["allow_non_tls"] !== undefined) throw new Error(`error parsing tls config, unknown field ["allow_non_tls"] (allow_non_tls is a top-level option)`);
    const certFile = str(tls["cert_file"], "tls.cert_file");
    const keyFile = str(tls["key_file"], "tls.key_file");
    if (certFile === undefined || keyFile === undefined) throw new Error("tls: cert_file and key_file are required");
    const caFile = str(tls["ca_file"], "tls.ca_file");
    o.tls = caFile === undefined ? { certFile, keyFile } : { certFile, keyFile, caFile };
    // nats-server: `verify` requires a client certificate signed by ca_file. `verify_and_map` also
    // takes the user from it: refused rather than half done (verified but not mapped would turn
    // away every user the certificates name).
    if (tls["verify"] === true) o.tls.verify = true;
    if (tls["verify_and_map"] === true) throw new Error("tls.verify_and_map: mapping client certificates to users is not supported by cuebus; use verify: true with user credentials");
  }
}
