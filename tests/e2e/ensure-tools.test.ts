/**
 * `npm test` on a fresh machine: its first step (scripts/ensure-tools.mjs) finds the system tools
 * the suite spawns, installs them as root, or stops at once with one line naming the packages and
 * the command. Checked the way a new user meets it: the tools absent from PATH (a PATH of one
 * empty directory) and from the fixed places the suite looks (CUEBUS_TOOLS_ROOT, an empty root).
 * Nothing here installs anything: the root case runs a stand-in apt-get that only records its
 * arguments.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const script = join(repoRoot, "scripts/ensure-tools.mjs");
const ALL_PACKAGES = "nats-server golang-go golang-github-nats-io-go-nats-dev iproute2 gcc libnats-dev openssl";
const isRoot = process.getuid?.() === 0;
const SETPRIV = "/usr/bin/setpriv";

/** A fresh machine: an empty bin dir for PATH and an empty file-system root. World-readable so `nobody` can use them. */
async function freshMachine(t: { after: (fn: () => Promise<void>) => void }): Promise<{ bin: string; root: string; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-tools-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const bin = join(dir, "bin");
  const root = join(dir, "root");
  await mkdir(bin);
  await mkdir(root);
  for (const d of [dir, bin, root]) await chmod(d, 0o755);
  return { bin, root, dir };
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { env, cwd: "/", encoding: "utf8", timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertOneLine(r: { status: number | null; stdout: string; stderr: string }, packages: string, sudo: boolean): void {
  assert.equal(r.status, 1, `exit status (stderr: ${r.stderr})`);
  assert.equal(r.stdout, "");
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 1, `one line, got: ${r.stderr}`);
  assert.match(lines[0] ?? "", /^cuebus: npm test needs .+; install with: /);
  assert.ok((lines[0] ?? "").endsWith(`install with: ${sudo ? "sudo " : ""}apt-get install -y ${packages}`), lines[0]);
}

test("no tools, not root: exits 1 with one line naming every package and the sudo apt-get command", { skip: isRoot && !existsSync(SETPRIV) ? "root without setpriv: see the CUEBUS_NO_INSTALL case" : false }, async (t) => {
  const m = await freshMachine(t);
  const env = { PATH: m.bin, CUEBUS_TOOLS_ROOT: m.root };
  // As root, run it as nobody: the script must see for itself that it cannot install.
  const r = isRoot ? run(SETPRIV, ["--reuid=nobody", "--regid=nogroup", "--clear-groups", process.execPath, script], env) : run(process.execPath, [script], env);
  assertOneLine(r, ALL_PACKAGES, true);
  assert.match(r.stderr, /needs nats-server, go, nats\.go source, ip, cc, libnats-dev, openssl;/);
});

test("CUEBUS_NO_INSTALL=1: reports and stops instead of installing, even as root", async (t) => {
  const m = await freshMachine(t);
  const r = run(process.execPath, [script], { PATH: m.bin, CUEBUS_TOOLS_ROOT: m.root, CUEBUS_NO_INSTALL: "1" });
  assertOneLine(r, ALL_PACKAGES, !isRoot);
});

test("only what is missing is named: a tool found on PATH is left out", async (t) => {
  const m = await freshMachine(t);
  for (const tool of ["go", "ip", "cc", "openssl"]) {
    await writeFile(join(m.bin, tool), "#!/bin/sh\nexit 0\n");
    await chmod(join(m.bin, tool), 0o755);
  }
  // libnats-dev is its header.
  await mkdir(join(m.root, "usr/include/nats"), { recursive: true });
  await writeFile(join(m.root, "usr/include/nats/nats.h"), "");
  // nats-server where Debian puts it (/usr/sbin, off a non-root PATH) counts as present.
  await mkdir(join(m.root, "usr/sbin"), { recursive: true });
  await writeFile(join(m.root, "usr/sbin/nats-server"), "#!/bin/sh\nexit 0\n");
  await chmod(join(m.root, "usr/sbin/nats-server"), 0o755);
  const r = run(process.execPath, [script], { PATH: m.bin, CUEBUS_TOOLS_ROOT: m.root, CUEBUS_NO_INSTALL: "1" });
  assertOneLine(r, "golang-github-nats-io-go-nats-dev", !isRoot);
  assert.match(r.stderr, /needs nats\.go source;/);
});

test("root: runs apt-get update and install with the missing packages, says so in one line, stops if they are still missing", { skip: isRoot ? false : "needs root" }, async (t) => {
  const m = await freshMachine(t);
  // A stand-in apt-get that records its arguments and installs nothing.
  const calls = join(m.dir, "apt-calls");
  await writeFile(join(m.bin, "apt-get"), `#!/bin/sh\necho "$@" >> '${calls}'\nexit 0\n`);
  await chmod(join(m.bin, "apt-get"), 0o755);
  const r = run(process.execPath, [script], { PATH: m.bin, CUEBUS_TOOLS_ROOT: m.root });
  assert.equal(r.status, 1);
  assert.equal(r.stderr, `cuebus: installing ${ALL_PACKAGES} for the test suite (apt-get)\ncuebus: still missing after apt-get: nats-server, go, nats.go source, ip, cc, libnats-dev, openssl; install with: apt-get install -y ${ALL_PACKAGES}\n`);
  assert.equal(await readFile(calls, "utf8"), `update -qq\ninstall -y -qq ${ALL_PACKAGES}\n`);
});

test("root, apt-get fails: one line with its reason and the command, exit 1", { skip: isRoot ? false : "needs root" }, async (t) => {
  const m = await freshMachine(t);
  await writeFile(join(m.bin, "apt-get"), "#!/bin/sh\necho 'E: Could not get lock /var/lib/apt/lists/lock' >&2\nexit 100\n");
  await chmod(join(m.bin, "apt-get"), 0o755);
  const r = run(process.execPath, [script], { PATH: m.bin, CUEBUS_TOOLS_ROOT: m.root });
  assert.equal(r.status, 1);
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 2, r.stderr); // the "installing" line, then the reason
  assert.equal(lines[1], `cuebus: apt-get update failed (exit 100: E: Could not get lock /var/lib/apt/lists/lock); npm test needs nats-server, go, nats.go source, ip, cc, libnats-dev, openssl; install with: apt-get install -y ${ALL_PACKAGES}`);
});

test("everything present (this machine, as the suite runs): exits 0 and says nothing", () => {
  const r = run(process.execPath, [script], { ...process.env, CUEBUS_NO_INSTALL: "1" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout + r.stderr, "");
});
