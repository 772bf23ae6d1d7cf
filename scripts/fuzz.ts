/**
 * `npm run fuzz`: FUZZ_FRAMES (default 4,000,000) generated protocol frames, valid and mutated,
 * over FUZZ_CONNECTIONS (default 16) connections to a cuebus child with JetStream on a temp store
 * (FUZZ_SEED picks the frames; the same seed sends the same frames per connection). Prints the
 * frame rate and the server's RSS as it goes, then the totals: frames/s at the start and the end,
 * RSS at the start, peak and end, process warnings, and the clean stop and restart on the same
 * store (every file stream loads and reads back). Exits 1 when the server crashed, warned, or the
 * store did not load. FUZZ_NODE_ARGS passes flags to the server's node (e.g.
 * `--heapsnapshot-signal=SIGPWR`); FUZZ_KEEP=1 keeps the store directory.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fuzzRun } from "../tests/helpers/fuzz-run.js";

const MiB = 2 ** 20;

async function main(): Promise<void> {
  const frames = Number(process.env["FUZZ_FRAMES"] ?? 4_000_000);
  const seed = Number(process.env["FUZZ_SEED"] ?? 14);
  const connections = Number(process.env["FUZZ_CONNECTIONS"] ?? 16);
  const nodeArgs = (process.env["FUZZ_NODE_ARGS"] ?? "").split(" ").filter((a) => a !== "");
  const dir = await mkdtemp(join(tmpdir(), "cuebus-fuzz-"));
  console.log(`fuzz: ${frames} frames, seed ${seed}, ${connections} connections, store ${dir}`);
  try {
    // FUZZ_HEAP_AT=<sample numbers>: signal the server for a heap snapshot at those samples (with
    // FUZZ_NODE_ARGS=--heapsnapshot-signal=SIGPWR; SIGUSR2 is lame-duck mode; the file lands in the working directory).
    const heapAt = new Set((process.env["FUZZ_HEAP_AT"] ?? "").split(",").filter((x) => x !== "").map(Number));
    let n = 0;
    const onSample = (pid: number): void => {
      if (heapAt.has(++n)) process.kill(pid, "SIGPWR");
    };
    const sampleMs = Number(process.env["FUZZ_SAMPLE_MS"] ?? 10_000);
    const r = await fuzzRun({ dir, frames, seed, connections, nodeArgs, sampleMs, onSample, log: (l) => console.log(l) });
    const s = r.samples.filter((x) => x.framesPerSec > 0);
    const head = s.slice(0, 3);
    const tail = s.slice(-3);
    const avg = (xs: typeof s): number => Math.round(xs.reduce((a, x) => a + x.framesPerSec, 0) / Math.max(1, xs.length));
    console.log(`frames: ${r.frames} read by the server (${r.framesWritten} written) in ${(r.elapsedMs / 1000).toFixed(1)} s, ${Math.round((r.frames * 1000) / r.elapsedMs)} frames/s overall`);
    console.log(`frames/s: start ${avg(head)} (first ${head.length} samples), end ${avg(tail)} (last ${tail.length} samples)`);
    console.log(`RSS: start ${(r.rssStartBytes / MiB).toFixed(1)} MiB, peak ${(r.rssPeakBytes / MiB).toFixed(1)} MiB, end ${(r.rssEndBytes / MiB).toFixed(1)} MiB`);
    console.log(`connections opened: ${r.connectionsOpened}; frames lost in flight on closed connections: ${r.framesLost}`);
    for (const [why, n] of [...r.closes].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`  closed ${n} x ${why}`);
    const errs = [...r.errs].sort((a, b) => b[1] - a[1]).slice(0, 12);
    for (const [e, n] of errs) console.log(`  ${n} x ${e}`);
    console.log(`warnings: ${r.warningCount}`);
    for (const w of r.warnings) console.log(`  ${w}`);
    console.log(`server log warnings and errors: ${r.logWarningCount}`);
    for (const w of r.logWarnings) console.log(`  ${w}`);
    console.log(`crashed: ${r.crashed === "" ? "no" : r.crashed}`);
    const rs = r.restart;
    console.log(`stop: ${rs.stopExit} in ${rs.stopMs} ms; restart: ${rs.ok ? "ok" : `FAILED ${rs.error}`} in ${rs.startMs} ms`);
    const files = rs.before.filter((b) => b.storage === "file");
    console.log(`streams before the stop: ${rs.before.length} (${files.length} file: ${files.map((b) => `${b.name} ${b.messages} msgs ${b.consumers.length} durables`).join(", ")})`);
    console.log(`streams after the restart: ${rs.after.length} (${rs.after.map((a) => `${a.name} ${a.messages} msgs`).join(", ")})`);
    if (rs.missing.length > 0) console.log(`missing: ${rs.missing.join(", ")}`);
    if (rs.unreadable.length > 0) console.log(`unreadable: ${rs.unreadable.join("; ")}`);
    if (rs.changed.length > 0) console.log(`changed across the restart: ${rs.changed.join("; ")}`);
    if (rs.consumersLost.length > 0) console.log(`durable consumers not back: ${rs.consumersLost.join(", ")}`);
    if (r.crashed !== "" || r.warningCount > 0 || !rs.ok) process.exitCode = 1;
  } finally {
    if (process.env["FUZZ_KEEP"] === "1") console.log(`store kept in ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
