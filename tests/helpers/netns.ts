import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";

/**
 * Another host, made on this machine for a test: a network namespace joined to this one by a veth
 * pair on a private /30 (this side `.1`, the namespace `.2`). A program run in it reaches this
 * machine only through `hostAddr`, as a caller on another machine would: its requests arrive from
 * `peerAddr`, not from loopback. Nothing in it reaches any other address (it has no default route).
 *
 * Needs root (CAP_NET_ADMIN) and `ip` with netns support: `netnsUnavailable()` says why not, for
 * a test to skip with that reason.
 */
export interface OtherHost {
  /** The namespace's name. */
  readonly ns: string;
  /** This machine's address on the pair: where the namespace connects to. */
  readonly hostAddr: string;
  /** The namespace's address: where its requests come from. */
  readonly peerAddr: string;
  /** Run a program inside the namespace; resolves with its stdout (rejects on a non-zero exit). */
  run(file: string, args: string[], timeoutMs?: number): Promise<string>;
  /** Send HTTP requests from the namespace, one after another, with Node's fetch. */
  fetchAll(requests: NsRequest[]): Promise<NsResponse[]>;
}

/** One request `fetchAll` sends. */
export interface NsRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

/** What came back: a status and body, or the error that stopped the request (no connection, say). */
export interface NsResponse {
  status: number;
  contentType: string;
  body: string;
  error?: string;
}

/** Longest a request sent from the namespace may take; a streaming answer (SSE) is cut at its headers. */
const NS_REQUEST_TIMEOUT_MS = 10_000;

const run = promisify(execFile);

/** The reason a namespace cannot be made here, or null when it can. */
export function netnsUnavailable(): string | null {
  if (process.platform !== "linux") return `network namespaces are Linux only (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return "needs root to make a network namespace and a veth pair";
  try {
    execFileSync("ip", ["netns", "list"], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (err) {
    return `\`ip netns\` is unavailable (install iproute2): ${whyFailed(err)}`;
  }
  return null;
}

/** A failed command's own words (its stderr), else the error's first line. */
function whyFailed(err: unknown): string {
  const stderr = (err as { stderr?: Buffer | string } | null)?.stderr?.toString().trim();
  if (stderr !== undefined && stderr !== "") return stderr;
  return err instanceof Error ? (err.message.split("\n")[0] as string) : String(err);
}

let made = 0;

/**
 * Make another host for test `t`, or, when this machine refuses to make a namespace (root in a
 * container without CAP_NET_ADMIN, say), skip `t` with the reason and return null, as
 * tests/e2e/disk-full.test.ts does when it cannot mount. Any later step failing is an error. Names and addresses come from this process's pid (and a count),
 * so test files running in parallel never collide; the clean-up (delete the veth, which takes its
 * peer with it, and the namespace) is registered before anything is made, so it runs even when
 * making it fails half way.
 */
export function otherHost(t: { after: (fn: () => unknown) => void; skip: (why: string) => void }): OtherHost | null {
  const k = made++ % 4;
  const id = `${process.pid}${String.fromCharCode(97 + k)}`;
  const ns = `cuebus-test-${id}`;
  // Interface names have at most 15 bytes: "cbh" + 7 digits of pid + 1 letter.
  const hostIf = `cbh${id}`;
  const peerIf = `cbp${id}`;
  // 10.213.0.0/16 holds 16384 /30 blocks: 4 per process, chosen by pid.
  const block = ((process.pid % 4096) << 2) | k;
  const base = `10.213.${block >> 6}.${(block & 63) << 2}`;
  const prefix = base.slice(0, base.lastIndexOf(".") + 1);
  const last = Number(base.slice(base.lastIndexOf(".") + 1));
  const hostAddr = `${prefix}${last + 1}`;
  const peerAddr = `${prefix}${last + 2}`;
  const ip = (...args: string[]): void => void execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
  t.after(() => {
    for (const args of [["link", "del", hostIf], ["netns", "del", ns]]) {
      try {
        ip(...args);
      } catch {
        // Already gone (never made, or deleted with its namespace).
      }
    }
  });
  const taken = execFileSync("ip", ["-4", "-o", "addr", "show", "to", `${base}/30`], { encoding: "utf8" });
  if (taken.trim() !== "") throw new Error(`${base}/30 is already in use on this machine: ${taken.trim()}`);
  try {
    ip("netns", "add", ns);
  } catch (err) {
    t.skip(`cannot make a network namespace: ${whyFailed(err)}`);
    return null;
  }
  ip("link", "add", hostIf, "type", "veth", "peer", "name", peerIf);
  ip("link", "set", peerIf, "netns", ns);
  ip("addr", "add", `${hostAddr}/30`, "dev", hostIf);
  ip("link", "set", hostIf, "up");
  ip("netns", "exec", ns, "ip", "addr", "add", `${peerAddr}/30`, "dev", peerIf);
  ip("netns", "exec", ns, "ip", "link", "set", peerIf, "up");
  ip("netns", "exec", ns, "ip", "link", "set", "lo", "up");

  const runIn = async (file: string, args: string[], timeoutMs = 60_000): Promise<string> => {
    const { stdout } = await run("ip", ["netns", "exec", ns, file, ...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  };
  return {
    ns,
    hostAddr,
    peerAddr,
    run: runIn,
    async fetchAll(requests: NsRequest[]): Promise<NsResponse[]> {
      const out = await runIn(process.execPath, ["--input-type=module", "-e", FETCH_ALL, JSON.stringify(requests)]);
      return JSON.parse(out) as NsResponse[];
    },
  };
}

/**
 * The program `fetchAll` runs in the namespace: each request in turn, its answer's status, content
 * type and body (a `text/event-stream` answer is cut once its headers are in: a stream never ends).
 */
const FETCH_ALL = `
const requests = JSON.parse(process.argv[1]);
const out = [];
for (const r of requests) {
  const signal = AbortSignal.timeout(${NS_REQUEST_TIMEOUT_MS});
  try {
    const res = await fetch(r.url, { method: r.method, headers: r.headers, body: r.body, signal });
    const contentType = res.headers.get("content-type") ?? "";
    let body;
    if (contentType.startsWith("text/event-stream")) {
      await res.body?.cancel();
      body = "(event stream)";
    } else body = await res.text();
    out.push({ status: res.status, contentType, body });
  } catch (err) {
    out.push({ status: 0, contentType: "", body: "", error: String(err && err.cause ? err.cause : err) });
  }
}
process.stdout.write(JSON.stringify(out));
`;
