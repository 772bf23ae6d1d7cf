/** Helpers shared by the bench entry points: free ports and servers started as child processes. */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const p = typeof a === "object" && a !== null ? a.port : 0;
      s.close(() => resolve(p));
    });
  });
}

export interface Target {
  name: string;
  port: number;
  proc: ChildProcess;
  /** Its HTTP monitoring port (/metrics), when started with one. */
  monitor?: number;
}

/** Start `cmd` on a free port and wait until its output matches `ready`. */
export async function startTarget(name: string, cmd: string, args: (p: number) => string[], ready: RegExp): Promise<Target> {
  const port = await freePort();
  const proc = spawn(cmd, args(port), { stdio: ["ignore", "pipe", "pipe"] });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    const on = (d: Buffer): void => {
      out += d.toString();
      if (ready.test(out)) resolve();
    };
    proc.stdout?.on("data", on);
    proc.stderr?.on("data", on);
    proc.once("exit", (c) => reject(new Error(`${name} exited ${c}: ${out}`)));
  });
  return { name, port, proc };
}
