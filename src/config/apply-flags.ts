import { apiOpenTo, type ResolvedOptions } from "./options.js";
import { checkClusterId, type ConfStoreLimits } from "./streaming.js";

/*
 * The command line's part of the options: what each flag (scanFlags's canonical names) does to
 * the options the config file gave, and which flags cuebus accepts but cannot honour.
 */

/** Flags cuebus accepts and cannot honour, with what happens instead (one warning each). */
const IGNORED_FLAG: Readonly<Record<string, string>> = {
  client_advertise: "cuebus runs no cluster, so it advertises no other URLs",
  cluster_name: "cuebus runs no cluster",
  cluster_advertise: "cuebus runs no cluster",
  no_advertise: "cuebus runs no cluster",
  connect_retries: "cuebus runs no cluster",
  log_size_limit: "the log file is not rotated by cuebus",
  syslog: "logs go to stderr or the -l file",
  remote_syslog: "logs go to stderr or the -l file",
  profile: "profile cuebus with node --cpu-prof or --inspect instead",
  max_traced_msg_len: "traced messages are not shortened",
  max_inactivity: "cuebus does not remove a channel that has been idle",
  encrypt: "cuebus does not encrypt its stores",
  replace_durable: "a second subscriber to a durable in use is refused (stan: duplicate durable registration)",
};

/**
 * Flags that would make cuebus something it is not: they stop the start with this reason. A
 * server started with `--routes` but not routing would split its clients silently.
 */
const REFUSED_FLAG: Readonly<Record<string, string>> = {
  cluster: "routes between servers (clustering) are not supported by cuebus; several cuebus nodes share a PostgreSQL database instead (docs/compatibility.md)",
  routes: "routes between servers (clustering) are not supported by cuebus; several cuebus nodes share a PostgreSQL database instead (docs/compatibility.md)",
  https_port: "monitoring over HTTPS is not supported by cuebus; use -m/--http_port (behind a TLS proxy if needed)",
  nats_server: "cuebus is the NATS server; NATS Streaming runs inside it (docs/stan.md)",
  ft_group: "fault-tolerance groups are not supported by cuebus; several cuebus nodes share a PostgreSQL database instead",
  clustered: "NATS Streaming clustering is not supported by cuebus; several cuebus nodes share a PostgreSQL database instead",
};

/** nats-streaming-server's limit flags and the StanStoreLimits field each sets. */
const LIMIT_FLAG: Readonly<Record<string, keyof ConfStoreLimits>> = {
  max_channels: "maxChannels",
  max_subs: "maxSubs",
  max_msgs: "maxMsgs",
  max_bytes: "maxBytes",
  max_age: "maxAgeMs",
};

/**
 * Apply command-line flags (scanFlags's canonical names; they override the file). Flags cuebus
 * cannot honour add a line to `o.warnings`, or throw when running without them would mislead.
 */
export function applyFlags(o: ResolvedOptions, flags: Array<[string, string]>): void {
  const tlsFlags = new Map<string, string>();
  for (const [f, v] of flags) {
    const on = v === "true";
    switch (f) {
      case "addr": o.host = v; break;
      case "port": {
        // nats-server: -p 0 means the default port; -1 a random one.
        const p = Number(v);
        o.port = p === 0 ? 4222 : p;
        break;
      }
      case "http_port": o.httpPort = Number(v); break;
      case "store_dir": o.storeDir = v; break;
      case "jetstream": o.jetstream = on; break;
      case "user": o.auth.users = [{ user: v, password: o.auth.users?.[0]?.password ?? "" }]; break;
      case "pass": o.auth.users = [{ user: o.auth.users?.[0]?.user ?? "", password: v }]; break;
      case "auth": o.auth.token = v; break;
      case "ports_file_dir": o.portsFileDir = v; break;
      case "http_api_open_to": o.httpApiOpenTo = apiOpenTo(v); break;
      case "webhook_allow": o.webhookAllow = v.split(",").map((x) => x.trim()).filter((x) => x !== ""); break;
      case "server_name": o.serverName = v; break;
      case "cluster_id": o.streaming = { ...o.streaming, clusterId: checkClusterId(v, "-cid") }; break;
      case "store": o.streaming = { ...o.streaming, store: storeType(v) }; break;
      case "dir": o.storeDir = v; break;
      case "max_channels": case "max_subs": case "max_msgs": case "max_bytes": case "max_age": {
        const field = LIMIT_FLAG[f] as keyof ConfStoreLimits;
        o.streaming = { ...o.streaming, limits: { ...o.streaming?.limits, [field]: Number(v) } };
        break;
      }
      case "hb_interval": o.streaming = { ...o.streaming, hbIntervalMs: positive(v, "-hbi") }; break;
      case "hb_timeout": o.streaming = { ...o.streaming, hbTimeoutMs: positive(v, "-hbt") }; break;
      case "hb_fail_count": o.streaming = { ...o.streaming, hbFailCount: positive(v, "-hbf") }; break;
      case "stan_debug": o.debug = on; break;
      case "stan_trace": o.trace = on; break;
      case "SDV": o.debug = on; o.trace = on; break;
      // cuebus fsyncs a channel's messages before it acknowledges them; -file_sync=false asks for less.
      case "file_sync": if (!on) o.warnings.push("flag -file_sync=false is accepted and ignored: messages are written to disk before they are acknowledged (jetstream { sync_interval } relaxes that for every stream)"); break;
      case "debug": o.debug = on; break;
      case "trace": case "VV": o.trace = on; break;
      case "DV": case "DVV": o.debug = on; o.trace = on; break;
      case "logtime": o.logtime = on; break;
      case "log": o.logFile = v; break;
      case "pid": o.pidFile = v; break;
      case "tls": case "tlsverify": case "tlscert": case "tlskey": case "tlscacert": tlsFlags.set(f, v); break;
      default: {
        const refused = REFUSED_FLAG[f];
        // nats-server too: an empty --cluster or --routes turns clustering off.
        if (refused !== undefined && v !== "" && v !== "0" && v !== "false") throw new Error(`-${f}: ${refused}`);
        const ignored = IGNORED_FLAG[f];
        if (ignored !== undefined) o.warnings.push(`flag -${f} is accepted and ignored: ${ignored}`);
        break;
      }
    }
  }
  applyTlsFlags(o, tlsFlags);
}

/**
 * nats-server's overrideTLS: `-tls=false` turns TLS off; any other TLS flag replaces the file's
 * TLS with the flags' (certificate and key required).
 */
function applyTlsFlags(o: ResolvedOptions, t: Map<string, string>): void {
  if (t.size === 0) return;
  if (t.get("tls") === "false") {
    delete o.tls;
    return;
  }
  const certFile = t.get("tlscert");
  const keyFile = t.get("tlskey");
  if (certFile === undefined || certFile === "") throw new Error("TLS Server certificate must be present and valid");
  if (keyFile === undefined || keyFile === "") throw new Error("TLS Server private key must be present and valid");
  const caFile = t.get("tlscacert");
  o.tls = caFile === undefined || caFile === "" ? { certFile, keyFile } : { certFile, keyFile, caFile };
  if (t.get("tlsverify") === "true") o.tls.verify = true;
}

/** `-st`/`--store`: nats-streaming-server's store types cuebus has (its words for any other). */
function storeType(v: string): "file" | "memory" {
  const s = v.toLowerCase();
  if (s === "file" || s === "memory") return s;
  if (s === "sql") throw new Error("-st SQL: the SQL store is not supported by cuebus; use FILE or MEMORY (each channel is a JetStream stream, docs/stan.md)");
  throw new Error(`unsupported store type: ${v.toUpperCase()}`);
}

function positive(v: string, flag: string): number {
  const n = Number(v);
  if (!(n > 0)) throw new Error(`${flag}: expected a value above 0, got ${v}`);
  return n;
}
