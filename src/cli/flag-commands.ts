import { readFileSync } from "node:fs";
import { scanFlags } from "../config/flags.js";
import type { ResolvedOptions } from "../config/options.js";
import { CUEBUS_VERSION, NATS_COMPAT_VERSION } from "../server/version.js";

/** `--signal <command>`: nats-server's commands and the signal each sends (server/signal.go). */
const SIGNALS: Readonly<Record<string, NodeJS.Signals>> = {
  stop: "SIGKILL",
  quit: "SIGINT",
  term: "SIGTERM",
  reload: "SIGHUP",
  ldm: "SIGUSR2",
  // nats-server reopens its log file on SIGUSR1; Node keeps SIGUSR1 for its inspector, so cuebus
  // does not offer it.
};

const USAGE = `
Usage: nats-server [options]      (cuebus, standing in for nats-server and nats-streaming-server)

Every flag can be written with one dash or two (-user or --user); a value follows as the next
argument or after '=' (-p 4222, -p=4222); a boolean takes a value only after '=' (-js=false).

Server:
    -a, --addr, --net <host>         Bind to host address (default: 0.0.0.0 with credentials configured, else 127.0.0.1)
    -p, --port <port>                Port for clients (default: 4222; -1: random)
    -n, --name, --server_name <name> Server name (default: the server id)
    -P, --pid <file>                 Write the process id to this file
    -m, --http_port <port>           Port of the monitoring endpoints and the HTTP API
    -c, --config <file>              Configuration file
    -t                               Check the configuration and exit
    -sl, --signal <cmd>=<pid|file>   Send stop, quit, term, reload or ldm to a running server
        --ports_file_dir <dir>       Write <program>_<pid>.ports there
        --webhook_allow <list>       Hosts, IPs and CIDRs webhook targets may point at (cuebus)

Logging:
    -l, --log <file>                 Log to this file (appended) instead of stderr
    -T, --logtime                    Timestamps on log lines (default: true; -T=false drops them)
    -D, --debug / -V, --trace / -DV / -VV / -DVV

JetStream:
    -js, --jetstream                 Enable JetStream
    -sd, --store_dir <dir>           Storage directory (default: ./data)

NATS Streaming (on whenever JetStream is; started as nats-streaming-server, JetStream is on and
channels are in memory unless -st FILE -dir <dir>; see docs/stan.md):
    -cid, --cluster_id <id>          Cluster id STAN clients connect to (default: test-cluster)
    -st, --store <FILE|MEMORY>       Where channels' streams are kept
        --dir <dir>                  Store directory (as -sd)
    -sc, --stan_config <file>        Configuration file (as -c; its streaming {} block)
    -mc, --max_channels <int>        Max number of channels (0: unlimited; default 100)
    -msu, --max_subs <int>           Max subscriptions per channel (0: unlimited; default 1000)
    -mm, --max_msgs <int>            Max messages per channel (0: unlimited; default 1000000)
    -mb, --max_bytes <size>          Max bytes of messages per channel (1GB, 512MB; 0: unlimited)
    -ma, --max_age <duration>        Max age of a message (24h, 90s; 0: unlimited)
    -hbi, --hb_interval <duration>   Between two server heartbeats to a client (default 30s)
    -hbt, --hb_timeout <duration>    How long a heartbeat waits for its answer (default 10s)
    -hbf, --hb_fail_count <int>      Heartbeats missed before a client is closed (default 10)
    -SD, -SV, -SDV                   As -D, -V, -DV

Authorization:
        --user <user> --pass <password>, --auth <token>

TLS (see --help_tls):
        --tls, --tlscert <file>, --tlskey <file>, --tlscacert <file>, --tlsverify

Accepted and ignored, with a warning: --client_advertise, --cluster_name, --cluster_advertise,
--no_advertise, --connect_retries, --log_size_limit, -s/--syslog, -r/--remote_syslog, --profile,
--max_traced_msg_len, -mi/--max_inactivity, --encrypt, --replace_durable, --file_sync=false.
Refused: --cluster/--cluster_listen and --routes (cuebus does not cluster over routes),
-ms/--https_port, -ns/--nats_server, --ft_group and --clustered.

Common:
    -h, --help                       Show this message
    -v, --version                    Show the nats-server version cuebus announces
        --help_tls                   TLS help
`;

const TLS_USAGE = `
TLS on the client port, by flags or by the configuration file's tls { } block:

    --tls                  Serve TLS (needs --tlscert and --tlskey); --tls=false turns off
                           the file's TLS
    --tlscert <file>       Server certificate (PEM)
    --tlskey <file>        Its private key (PEM)
    --tlscacert <file>     CA certificates that sign the clients' certificates
    --tlsverify            Require a client certificate signed by --tlscacert

    tls { cert_file, key_file, ca_file, verify: true, verify_and_map: true }

Ciphers and curves are Node's defaults (TLS 1.2 and 1.3).
`;

/**
 * The command lines that are not a server run: help, version, `-t` and `--signal`. Returns true
 * when one was handled (the process should then end; the exit code is set).
 */
export async function flagCommand(argv: string[], program: string, loadOptions: (argv: string[]) => ResolvedOptions): Promise<boolean> {
  const scanned = scanFlags(argv);
  const given = new Map(scanned.flags);
  if (given.get("version") === "true" || scanned.command === "version") {
    process.stdout.write(`${program}: v${NATS_COMPAT_VERSION} (cuebus ${CUEBUS_VERSION})\n`);
    return true;
  }
  if (given.get("help") === "true" || scanned.command === "help") {
    process.stdout.write(`${USAGE}\n`);
    return true;
  }
  if (given.get("help_tls") === "true") {
    process.stdout.write(`${TLS_USAGE}\n`);
    return true;
  }
  const signal = given.get("signal");
  if (signal !== undefined && signal !== "") {
    sendSignal(signal);
    return true;
  }
  if (given.get("t") === "true") {
    if (scanned.config === undefined) throw new Error("must specify [-c, --config] option to check configuration file syntax");
    loadOptions(argv);
    process.stderr.write(`${program}: configuration file ${scanned.config} is valid\n`);
    return true;
  }
  return false;
}

/** nats-server's `--signal <command>[=<pid or pid file>]`. */
function sendSignal(arg: string): void {
  const parts = arg.split("=");
  if (parts.length > 2) throw new Error(`invalid signal parameters: [${parts.slice(2).join(" ")}]`);
  const [command = "", pidArg] = parts;
  const sig = SIGNALS[command];
  if (sig === undefined) throw new Error(`unknown signal "${command}"`);
  // nats-server finds a lone running server with pgrep when no pid is given; cuebus asks for it.
  if (pidArg === undefined || pidArg === "") throw new Error(`--signal needs the server's pid: --signal ${command}=<pid or pid file>`);
  let pidText = pidArg;
  try {
    pidText = readFileSync(pidArg, "utf8").trim();
  } catch {
    // Not a file: the pid itself.
  }
  if (!/^\d+$/.test(pidText)) throw new Error(`invalid pid: ${pidText}`);
  process.kill(Number(pidText), sig);
}
