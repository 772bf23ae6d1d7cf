/** Load generators run as child processes: one JSON job in argv, one JSON result line on stdout. */
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Run `script` (a file beside this one in dist/bench) with `job`; resolves with the last line it
 * printed, parsed, or rejects with its `error`. Its stderr (progress) passes through.
 */
export function runChild(script: string, job: object): Promise<Record<string, number | string | boolean>> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [join(here, script), JSON.stringify(job)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    p.once("exit", (code) => {
      try {
        const r = JSON.parse(out.trim().split("\n").pop() as string) as Record<string, number | string | boolean>;
        if ("error" in r) reject(new Error(String(r["error"])));
        else resolve(r);
      } catch {
        reject(new Error(`${script} exited ${code} without a result: ${out.slice(-500)}`));
      }
    });
  });
}
