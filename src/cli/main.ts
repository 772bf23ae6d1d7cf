#!/usr/bin/env node
import { basename } from "node:path";
import { runServerCommand } from "./server.js";

/**
 * Entry point. Started under the name `nats-server` or `nats-streaming-server` (a link or `exec
 * -a`), it is that server with its arguments; otherwise the first argument names the command.
 */
function invokedAs(name: string): boolean {
  const argv1 = process.argv[1] ?? "";
  return basename(argv1) === name || basename(process.argv0) === name;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  for (const name of ["nats-server", "nats-streaming-server"] as const) {
    if (invokedAs(name)) {
      await runServerCommand(args, name);
      return;
    }
  }
  const [cmd, ...rest] = args;
  switch (cmd) {
    case "server":
      await runServerCommand(rest, "cuebus");
      return;
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write("usage: cuebus server [nats-server flags]\n");
      return;
    default:
      process.stderr.write(`cuebus: unknown command "${cmd}"\n`);
      process.exitCode = 2;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`cuebus: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
