#!/usr/bin/env node
// The first step of `npm test` (package.json "pretest"): the system tools the suite spawns are
// there, or they are installed (as root, with apt-get), or the run stops at once with one line
// naming the packages and the command that installs them.
//
// Plain JavaScript on purpose: it runs before the build, so a fresh machine hears what is missing
// in well under a second instead of after the TypeScript build.
//
// Environment:
//   CUEBUS_NO_INSTALL=1  never run apt-get, even as root: report and stop.
//   CUEBUS_TOOLS_ROOT    file-system root of the fixed paths below (default "/"). Its own test
//                        points it at an empty directory to stand for a machine without them.

import { accessSync, constants, statSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { delimiter, join } from "node:path";

const root = process.env.CUEBUS_TOOLS_ROOT ?? "/";

/**
 * Every system tool the suite uses, where the suite looks for it, and the Debian package that
 * brings it. Later work adds its rows here (PostgreSQL, Chromium, libnats-dev, ...).
 * @type {{ tool: string, usedBy: string, found: () => boolean, apt: string }[]}
 */
const TOOLS = [
  {
    tool: "nats-server",
    usedBy: "tests comparing cuebus with the real server (tests/helpers/nats-server.ts)",
    // Debian puts it in /usr/sbin, which is not on a non-root user's PATH; the helper looks there first.
    found: () => isExecutable(join(root, "usr/sbin/nats-server")) || onPath("nats-server"),
    apt: "nats-server",
  },
  {
    tool: "go",
    usedBy: "nats.go interop tests (tests/interop/go-client.test.ts)",
    found: () => onPath("go"),
    apt: "golang-go",
  },
  {
    tool: "nats.go source",
    usedBy: "the same tests build with GOPATH=/usr/share/gocode, GO111MODULE=off",
    found: () => isDir(join(root, "usr/share/gocode/src/github.com/nats-io/nats.go")),
    apt: "golang-github-nats-io-go-nats-dev",
  },
  {
    tool: "ip",
    usedBy: "tests that reach the server from another host, a network namespace (tests/helpers/netns.ts)",
    // In /usr/sbin on Debian, off a non-root PATH.
    found: () => onPath("ip") || isExecutable(join(root, "usr/sbin/ip")) || isExecutable(join(root, "sbin/ip")),
    apt: "iproute2",
  },
  {
    tool: "cc",
    usedBy: "the C client's interop test builds its program (tests/interop/stan-c-client.test.ts)",
    found: () => onPath("cc"),
    apt: "gcc",
  },
  {
    tool: "libnats-dev",
    usedBy: "the same test: nats.c with its NATS Streaming API (nats/nats.h, -lnats)",
    found: () => isFile(join(root, "usr/include/nats/nats.h")),
    apt: "libnats-dev",
  },
  {
    tool: "openssl",
    usedBy: "TLS tests make their certificates (tests/e2e/tls.test.ts)",
    found: () => onPath("openssl"),
    apt: "openssl",
  },
];

/** @param {string} path */
function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** @param {string} path */
function isFile(path) {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** @param {string} path */
function isDir(path) {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** @param {string} name */
function onPath(name) {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => dir !== "" && isExecutable(join(dir, name)));
}

/** @param {string} line */
function stop(line) {
  process.stderr.write(`${line}\n`);
  process.exit(1);
}

/** @param {typeof TOOLS} missing */
function describe(missing) {
  return missing.map((t) => t.tool).join(", ");
}

/** @param {typeof TOOLS} missing @param {boolean} asRoot */
function installCommand(missing, asRoot) {
  return `${asRoot ? "" : "sudo "}apt-get install -y ${missing.map((t) => t.apt).join(" ")}`;
}

/** @param {string[]} args */
function aptGet(args) {
  const r = spawnSync("apt-get", args, { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }, encoding: "utf8" });
  const lastLine = (r.stderr ?? "").trim().split("\n").pop() ?? "";
  return { ok: r.status === 0, why: r.error !== undefined ? r.error.message : `exit ${r.status}${lastLine === "" ? "" : `: ${lastLine}`}` };
}

const missing = TOOLS.filter((t) => !t.found());
if (missing.length === 0) process.exit(0);

const asRoot = process.getuid?.() === 0;
const canInstall = asRoot && process.env.CUEBUS_NO_INSTALL !== "1" && onPath("apt-get");
if (!canInstall) {
  stop(`cuebus: npm test needs ${describe(missing)}; install with: ${installCommand(missing, asRoot)}`);
}

process.stderr.write(`cuebus: installing ${missing.map((t) => t.apt).join(" ")} for the test suite (apt-get)\n`);
const steps = [["update", "-qq"], ["install", "-y", "-qq", ...missing.map((t) => t.apt)]];
for (const step of steps) {
  const r = aptGet(step);
  if (!r.ok) stop(`cuebus: apt-get ${step[0]} failed (${r.why}); npm test needs ${describe(missing)}; install with: ${installCommand(missing, true)}`);
}
const still = TOOLS.filter((t) => !t.found());
if (still.length > 0) stop(`cuebus: still missing after apt-get: ${describe(still)}; install with: ${installCommand(still, true)}`);
