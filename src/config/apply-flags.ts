import { apiOpenTo, type ResolvedOptions } from "./options.js";
import { checkClusterId } from "./streaming.js";

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
};

/**
 * Flags that would make cuebus something it is not: they stop the start with this reason. A
 * server started with `--routes` but not routing would split its clients silently.
 */
const REFUSED_FLAG: Readonly<Record<string, string>> = {
  cluster: "routes between servers (clustering) are not supported by cuebus; several cuebus nodes share a PostgreSQL database instead (docs/compatibility.md)",
  routes: "routes between servers (clustering) are not supported by cuebus; several cuebus nodes share a PostgreSQL database instead (docs/compatibility.md)",
  https_port: "monitoring over HTTPS is not supported by cuebus; use -m/--http_port (behind a TLS proxy if needed)",
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
        if (refused !== undefined && v !== "" && v !== "0") throw new Error(`-${f}: ${refused}`);
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
