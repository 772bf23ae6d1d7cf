import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { unlink, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { parseConf } from "../config/conf-parser.js";
import { applyFlags } from "../config/apply-flags.js";
import { applyConfig, credentialsRequired, defaultOptions, httpHostOf, resolveHosts, scanFlags, type ResolvedOptions } from "../config/options.js";
import type { ScannedFlags } from "../config/flags.js";
import { startServer, type ListeningPorts, type Server } from "../index.js";
import type { WebhookSpec } from "../gateway/webhooks/webhooks.js";
import { configureLog, log } from "./log.js";
import { IdleTrim, fullCollection } from "../util/idle-trim.js";

/** The names cuebus answers to: its own, or a stand-in for nats-server or nats-streaming-server. */
export type Program = "cuebus" | "nats-server" | "nats-streaming-server";

/**
 * Read flags and the config file (if any) into options. As `nats-streaming-server` (the launcher,
 * docs/stan.md) JetStream is on and channels are kept in memory unless `-st FILE -dir <dir>` (or
 * the file) says otherwise, as that server's defaults are.
 */
export function loadOptions(argv: string[], program: Program = "cuebus"): ResolvedOptions {
  const { config, flags } = scanFlags(argv);
  const o = defaultOptions();
  const nss = program === "nats-streaming-server";
  if (nss) {
    o.jetstream = true;
    o.streaming = { store: "memory" };
  }
  if (config !== undefined) {
    const path = resolve(config);
    const base = dirname(path);
    const conf = parseConf(readFileSync(path, "utf8"), {
      env: process.env,
      include: (p) => readFileSync(isAbsolute(p) ? p : join(base, p), "utf8"),
    });
    applyConfig(o, conf);
  }
  const fileDir = o.storeDir !== defaultOptions().storeDir;
  applyFlags(o, flags);
  resolveHosts(o);
  if (nss) {
    const dirGiven = fileDir || flags.some(([f]) => f === "dir" || f === "store_dir");
    // nats-streaming-server's own refusal, in its words.
    if (o.streaming?.store === "file" && !dirGiven) throw new Error("for FILE stores, root directory must be specified");
    // Memory store: JetStream still wants a directory; the run makes one of its own (runServerCommand).
    if (!dirGiven) o.storeDirTemporary = true;
  }
  return o;
}

/**
 * Flags that make the command line a command (help, version, `-t`, `--signal`; flag-commands.ts),
 * not a server run. flag-commands.ts, with its usage texts, is imported only when one of these (or
 * a `version`/`help` command) is given: a server run does not load it (start-up, issue 15).
 */
const COMMAND_FLAGS: ReadonlySet<string> = new Set(["version", "help", "help_tls", "signal", "t"]);

function mayBeCommand(scanned: ScannedFlags): boolean {
  return scanned.command !== undefined || scanned.flags.some(([name]) => COMMAND_FLAGS.has(name));
}

/** The start-up line saying who can reach the client port without credentials, or null when all must authenticate. */
function clientPortReach(o: ResolvedOptions): { level: "INF" | "WRN"; text: string } | null {
  if (credentialsRequired(o.auth)) return null;
  const loopback = o.host === "localhost" || o.host.startsWith("127.") || o.host === "::1";
  if (o.hostDefaulted === true) return { level: "INF", text: `No credentials configured: clients can connect from this host only (${o.host}); give an address (-a 0.0.0.0, host, listen) to let other hosts in` };
  if (loopback) return null;
  return { level: "WRN", text: `No credentials configured and the client port is on ${o.host}: clients from other hosts can publish, subscribe and use JetStream without credentials` };
}

const urlHost = (h: string): string => (h === "0.0.0.0" || h === "::" ? "127.0.0.1" : h);

async function start(o: ResolvedOptions, onListening: (ports: ListeningPorts) => void): Promise<Server> {
  return startServer({
    onListening,
    host: o.host,
    port: o.port,
    httpPort: o.httpPort,
    httpHost: httpHostOf(o),
    serverName: o.serverName,
    auth: o.auth,
    accounts: o.accounts,
    limits: o.limits,
    websocket: o.websocket === undefined ? undefined : { ...o.websocket, tls: o.websocket.tls === undefined ? undefined : { cert: readFileSync(o.websocket.tls.certFile, "utf8"), key: readFileSync(o.websocket.tls.keyFile, "utf8") } },
    // Webhooks are checked by the gateway when it starts (a bad entry stops the server, naming it).
    http: { webhooks: o.webhooks as WebhookSpec[] | undefined, webhookAllow: o.webhookAllow, apiOpenTo: o.httpApiOpenTo },
    jetstream: o.jetstream
      ? typeof o.syncIntervalMs === "number"
        ? { storeDir: o.storeDir, sync: "interval", syncIntervalMs: o.syncIntervalMs, requestQueueLimit: o.requestQueueLimit, domain: o.jsDomain }
        : { storeDir: o.storeDir, requestQueueLimit: o.requestQueueLimit, domain: o.jsDomain }
      : false,
    streaming: o.streaming,
    tls: o.tls === undefined ? undefined : { cert: readFileSync(o.tls.certFile, "utf8"), key: readFileSync(o.tls.keyFile, "utf8"), ca: o.tls.caFile === undefined ? undefined : readFileSync(o.tls.caFile, "utf8"), verify: o.tls.verify === true, allowNonTls: o.allowNonTls === true },
    logger: {
      debug: o.debug ? (m: string): void => log("DBG", m) : undefined,
      trace: o.trace ? (m: string): void => log("TRC", m) : undefined,
      warn: (m: string): void => log("WRN", m),
      error: (m: string): void => log("ERR", m),
    },
  });
}

/**
 * `cuebus server` (or cuebus started as `nats-server`): run until SIGINT/SIGTERM. SIGHUP reloads
 * the config file's auth and limits; SIGUSR2 enters lame-duck mode.
 */
export async function runServerCommand(argv: string[], program: Program): Promise<void> {
  const load = (a: string[]): ResolvedOptions => loadOptions(a, program);
  if (mayBeCommand(scanFlags(argv))) {
    const { flagCommand } = await import("./flag-commands.js");
    if (await flagCommand(argv, program, load)) return;
  }
  const o = load(argv);
  if (o.storeDirTemporary === true) {
    const dir = mkdtempSync(join(tmpdir(), "cuebus-stan-"));
    o.storeDir = dir;
    process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  configureLog(o);
  for (const k of o.unknownKeys) log("WRN", `config: unknown field "${k}" is ignored by cuebus`);
  for (const w of o.warnings) log("WRN", w);
  if (o.pidFile !== undefined) await writeFile(o.pidFile, String(process.pid));
  log("INF", `Starting ${program === "cuebus" ? "cuebus" : `${program} (cuebus)`}`);
  let portsFile: string | undefined;
  // The ports file is written as soon as the ports are bound, before JetStream and the HTTP edge
  // have loaded: launchers wait for it (nats.js's gives a server 1 s) and connections made
  // meanwhile wait until the server is whole.
  const onListening = (p: ListeningPorts): void => {
    if (p.httpPort !== undefined) log("INF", `Starting http monitor on ${httpHostOf(o)}:${p.httpPort}`);
    if (p.httpAccess !== undefined) log(p.httpAccess.level, p.httpAccess.text);
    log("INF", `Listening for client connections on ${o.host}:${p.port}`);
    const reach = clientPortReach(o);
    if (reach !== null) log(reach.level, reach.text);
    if (o.portsFileDir === undefined) return;
    // Synchronous: three small calls are quicker than three trips through the thread pool and back.
    mkdirSync(o.portsFileDir, { recursive: true });
    const file = join(o.portsFileDir, `${program}_${process.pid}.ports`);
    const ports: Record<string, string[]> = { nats: [`nats://${urlHost(o.host)}:${p.port}`] };
    if (p.httpPort !== undefined) ports["monitoring"] = [`http://${urlHost(httpHostOf(o))}:${p.httpPort}`];
    if (p.wsUrl !== undefined) ports["websocket"] = [p.wsUrl];
    // Written whole, then renamed into place: a launcher polling the directory never reads half a file.
    const partial = `${file}.tmp`;
    writeFileSync(partial, JSON.stringify(ports));
    renameSync(partial, file);
    portsFile = file;
  };
  const starting = start(o, onListening).catch(async (err: unknown) => {
    // It never served: a launcher must not find its ports.
    if (portsFile !== undefined) await unlink(portsFile).catch(() => {});
    throw err;
  });
  // Signals are handled from the start: the ports file can be there before the server is whole,
  // and a launcher may stop it at once.
  const started = starting.catch(() => null);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log("INF", `Trapped "${signal}" signal`);
    const done = async (): Promise<boolean> => {
      const server = await started;
      if (server === null) return false; // the start failed: main() reports it
      await server.close();
      if (portsFile !== undefined) await unlink(portsFile).catch(() => {});
      log("INF", "Server Exiting..");
      return true;
    };
    done().then(
      (closed) => closed && process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGINT", () => stop("interrupt"));
  process.on("SIGTERM", () => stop("terminated"));
  process.on("SIGHUP", () => {
    void started.then((server) => {
      if (server === null) return;
      try {
        const next = loadOptions(argv, program === "nats-streaming-server" ? "cuebus" : program);
        Object.assign(server.core.limits, next.limits);
        for (const line of server.core.reloadAuth(next.auth)) log("INF", line);
        log("INF", "Reloaded server configuration (users and permissions apply to open connections too; limits to new ones; ports need a restart)");
      } catch (err) {
        log("ERR", `Failed to reload server configuration: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
  });
  process.on("SIGUSR2", () => {
    void started.then((server) => {
      if (server === null) return;
      log("INF", "Entering lame duck mode, stop accepting new clients");
      server.core.enterLameDuck().then(
        () => stop("lame duck"),
        () => stop("lame duck"),
      );
    });
  });
  const server = await starting;
  log("INF", "Server is ready");
  // The process is the server's: memory a burst grew is handed back once it is over (idle-trim.ts).
  // The collector is made at the first collection, not at start (a new V8 context: about 5 ms).
  const router = server.core.router;
  new IdleTrim(
    () => router.inMsgs + router.outMsgs,
    () => fullCollection()(),
  ).start();
}
