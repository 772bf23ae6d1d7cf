/**
 * `npm run soak`: the crash test's loop for many cycles (SOAK_CYCLES, default 100): publishers with
 * acks in flight, cuebus killed with SIGKILL at random moments and restarted on the same store.
 * Prints each cycle and a last line `lost: <n>`; exits 1 when anything acknowledged was lost,
 * stored twice or reordered.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crashLoop } from "../tests/helpers/crash.js";

async function main(): Promise<void> {
  const cycles = Number(process.env["SOAK_CYCLES"] ?? 100);
  const dir = await mkdtemp(join(tmpdir(), "cuebus-soak-"));
  try {
    const r = await crashLoop({ dir, cycles, log: (l) => console.log(l) });
    console.log(`acked: ${r.acked}, stored: ${r.streamMessages}, duplicated: ${r.duplicated.length}, out of order: ${r.outOfOrder.length}`);
    console.log(`lost: ${r.lost.length}`);
    if (r.lost.length > 0 || r.duplicated.length > 0 || r.outOfOrder.length > 0) process.exitCode = 1;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
