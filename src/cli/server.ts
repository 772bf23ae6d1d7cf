import { readFileSync } from "node:fs";
import { mkdir, rename, unlink, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { parseConf } from "../config/conf-parser.js";
import { applyConfig, applyFlags, defaultOptions, scanFlags, type ResolvedOptions } from "../config/options.js";
import { startServer, type Server } from "../index.js";
import type { WebhookSpec } from "../gateway/webhooks/webhooks.js";
import { configureLog, log } from "./log.js";
import { flagCommand } from "./flag-commands.js";

/** Read flags and the config file (if any) into options. */
export function loadOptions(argv: string[]): ResolvedOptions {
  const { config, flags } = scanFlags(argv);
  const o = defaultOptions();
  if (config !== undefined) {
    const path = resolve(config);
    const base = dirname(path);
    const conf = parseConf(readFileSync(path, "utf8"), {
      env: process.env,
      include: (p) => readFileSync(isAbsolute(p) ? p : join(base, p), "utf8"),
    });
    applyConfig(o, conf);
  }
  applyFlags(o, flags);
  return o;
}

const urlHost = (h: string): string => (h === "0.0.0.0" || h === "::" ? "127.0.0.1" : h);

async function start(o: ResolvedOptions): Promise<Server> {
  return startServer({
    host: o.host,
    port: o.port,
    httpPort: o.httpPort,
    httpHost: o.httpHost ?? o.host,
    serverName: o.serverName,
    auth: o.auth,
    limits: o.limits,
    websocket: o.websocket === undefined ? undefined : { ...o.websocket, tls: o.websocket.tls === undefined ? undefined : { cert: readFileSync(o.websocket.tls.certFile, "utf8"), key: readFileSync(o.websocket.tls.keyFile, "utf8") } },
    // Webhooks are checked by the gateway when it starts (a bad entry stops the server, naming it).
    http: { webhooks: o.webhooks as WebhookSpec[] | undefined, webhookAllow: o.webhookAllow, apiOpenTo: o.httpApiOpenTo },
    jetstream: o.jetstream
      ? typeof o.syncIntervalMs === "number"
        ? { storeDir: o.storeDir, sync: "interval", syncIntervalMs: o.syncIntervalMs, requestQueueLimit: o.requestQueueLimit, domain: o.jsDomain }
        : { storeDir: o.storeDir, requestQueueLimit: o.requestQueueLimit, domain: o.jsDomain }
      : false,
    tls: o.tls === undefined ? undefined : { cert: readFileSync(o.tls.certFile, "utf8"), key: readFileSync(o.tls.keyFile, "utf8"), ca: o.tls.caFile === undefined ? undefined : readFileSync(o.tls.caFile, "utf8"), verify: o.tls.verify === true },
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
export async function runServerCommand(argv: string[], program: string): Promise<void> {
  if (await flagCommand(argv, program, loadOptions)) return;
  const o = loadOptions(argv);
  configureLog(o);
  for (const k of o.unknownKeys) log("WRN", `config: unknown field "${k}" is ignored by cuebus`);
  for (const w of o.warnings) log("WRN", w);
  if (o.pidFile !== undefined) await writeFile(o.pidFile, String(process.pid));
  log("INF", `Starting ${program === "nats-server" ? "nats-server (cuebus)" : "cuebus"}`);
  const server = await start(o);
  if (server.httpPort !== undefined) log("INF", `Starting http monitor on ${o.httpHost ?? o.host}:${server.httpPort}`);
  const access = server.gateway?.accessSummary();
  if (access !== undefined) log(access.level, access.text);
  log("INF", `Listening for client connections on ${o.host}:${server.port}`);
  log("INF", "Server is ready");

  let portsFile: string | undefined;
  if (o.portsFileDir !== undefined) {
    await mkdir(o.portsFileDir, { recursive: true });
    portsFile = join(o.portsFileDir, `${program}_${process.pid}.ports`);
    const ports: Record<string, string[]> = { nats: [`nats://${urlHost(o.host)}:${server.port}`] };
    if (server.httpPort !== undefined) ports["monitoring"] = [`http://${urlHost(o.httpHost ?? o.host)}:${server.httpPort}`];
    if (server.wsUrl !== undefined) ports["websocket"] = [server.wsUrl];
    // Written whole, then renamed into place: a launcher polling the directory never reads half a file.
    const partial = `${portsFile}.tmp`;
    await writeFile(partial, JSON.stringify(ports));
    await rename(partial, portsFile);
  }

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log("INF", `Trapped "${signal}" signal`);
    const done = async (): Promise<void> => {
      await server.close();
      if (portsFile !== undefined) await unlink(portsFile).catch(() => {});
      log("INF", "Server Exiting..");
    };
    done().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGINT", () => stop("interrupt"));
  process.on("SIGTERM", () => stop("terminated"));
  process.on("SIGHUP", () => {
    try {
      const next = loadOptions(argv);
      Object.assign(server.core.limits, next.limits);
      for (const line of server.core.reloadAuth(next.auth)) log("INF", line);
      log("INF", "Reloaded server configuration (users and permissions apply to open connections too; limits to new ones; ports need a restart)");
    } catch (err) {
      log("ERR", `Failed to reload server configuration: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  process.on("SIGUSR2", () => {
    log("INF", "Entering lame duck mode, stop accepting new clients");
    server.core.enterLameDuck().then(
      () => stop("lame duck"),
      () => stop("lame duck"),
    );
  });
}
