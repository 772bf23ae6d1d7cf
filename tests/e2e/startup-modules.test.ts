/**
 * Start-up loads only what the configuration uses (issue 15): a plain server loads no JetStream,
 * HTTP edge, WebSocket or metrics code; `-js -m` loads JetStream and the HTTP edge but not
 * prom-client, which comes with the first /metrics scrape; the ports file is written before the
 * server core loads. Checked in a child process started as a launcher starts it, with a preload
 * that writes down every module it loads and what had loaded when the ports file appeared.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "../helpers/wait.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const mainJs = join(root, "dist/src/cli/main.js");
const preload = join(root, "dist/tests/fixtures/module-log.js");

interface Started {
  ports: { nats: string[]; monitoring?: string[] };
  /** Stop the server (SIGTERM) and return every module it loaded. */
  modules(): Promise<string[]>;
}

async function start(t: { after: (fn: () => unknown) => void }, flags: string[]): Promise<Started> {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-modules-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const log = join(dir, "modules.log");
  const proc = spawn(process.execPath, ["--import", preload, mainJs, "server", "-a", "127.0.0.1", "-p", "-1", ...flags, "-sd", join(dir, "store"), "--ports_file_dir", dir], {
    env: { ...process.env, MODULE_LOG: log },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  t.after(() => proc.kill("SIGKILL"));
  let file = "";
  await waitFor(async () => (file = (await readdir(dir)).find((n) => n.endsWith(".ports")) ?? "") !== "", 10_000, "ports file");
  const ports = JSON.parse(await readFile(join(dir, file), "utf8")) as Started["ports"];
  return {
    ports,
    async modules(): Promise<string[]> {
      proc.kill("SIGTERM");
      assert.equal(await exited, 0);
      const lines = (await readFile(log, "utf8")).split("\n");
      assert.ok(lines.includes("exit"), "the preload wrote the CommonJS modules at exit");
      return lines;
    },
  };
}

/** What was loaded when the ports file was renamed into place (the preload's `ports` line). */
function beforePorts(modules: string[]): string[] {
  const at = modules.indexOf("ports");
  assert.ok(at >= 0, "the preload saw the ports file written");
  return modules.slice(0, at);
}

/** Modules under dist/src/<dir>/ and packages in node_modules, by name. */
function loaded(modules: string[], what: string): string[] {
  return modules.filter((m) => m.includes(`/dist/src/${what}/`) || m.includes(`/node_modules/${what}/`) || m.endsWith(`/dist/src/${what}`));
}

test("a plain server loads no JetStream, HTTP edge, WebSocket or metrics code", async (t) => {
  const s = await start(t, []);
  const modules = await s.modules();
  assert.ok(loaded(modules, "server").length > 0, "the core is there");
  for (const part of ["jetstream", "stores", "gateway", "transports/ws.js", "ws", "prom-client"]) assert.deepEqual(loaded(modules, part), [], `${part} not loaded`);
  // Nor what only some command lines or configurations use: the usage texts (help, version, -t,
  // --signal) and TLS.
  assert.ok(modules.includes("builtin net"), "the preload lists Node's built-ins");
  assert.deepEqual(modules.filter((m) => m.endsWith("/dist/src/cli/flag-commands.js")), [], "flag-commands not loaded");
  assert.ok(!modules.includes("builtin tls"), "node:tls not loaded");
  // The ports file comes before the server core and node:crypto (its server id) have loaded:
  // only the CLI, the option readers and the listeners.
  const early = beforePorts(modules);
  assert.deepEqual(
    early.filter((m) => m.includes("/dist/src/server/") && !m.endsWith("/server/version.js")),
    [],
    "no server core module before the ports file",
  );
  assert.ok(early.includes("builtin net") && !early.includes("builtin crypto"), "node:crypto not loaded before the ports file");
  assert.ok(loaded(modules, "server").some((m) => m.endsWith("/dist/src/server/server.js")), "the core loads after the ports file");
});

test("a command line that is a command loads its texts: -v", async () => {
  const out = await new Promise<string>((resolvePromise, reject) => {
    const proc = spawn(process.execPath, [mainJs, "server", "-v"], { stdio: ["ignore", "pipe", "inherit"] });
    let text = "";
    proc.stdout.on("data", (b: Buffer) => (text += b.toString()));
    proc.once("error", reject);
    proc.once("exit", (code) => (code === 0 ? resolvePromise(text) : reject(new Error(`exit ${String(code)}`))));
  });
  assert.match(out, /^cuebus: v\d+\.\d+\.\d+ \(cuebus /);
});

test("-js -m: JetStream and the HTTP edge are loaded, prom-client only once /metrics is scraped", async (t) => {
  const idle = await start(t, ["-js", "-m", "-1"]);
  const idleModules = await idle.modules();
  assert.ok(loaded(idleModules, "jetstream").length > 0);
  assert.ok(loaded(idleModules, "gateway").length > 0);
  assert.deepEqual(loaded(idleModules, "prom-client"), []);
  assert.deepEqual(loaded(idleModules, "ws"), []);

  const scraped = await start(t, ["-js", "-m", "-1"]);
  const res = await fetch(`${scraped.ports.monitoring?.[0] as string}/metrics`);
  assert.equal(res.status, 200);
  assert.match(await res.text(), /^cuebus_connections 0$/m);
  assert.ok(loaded(await scraped.modules(), "prom-client").length > 0);
});
