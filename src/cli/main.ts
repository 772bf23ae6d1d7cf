#!/usr/bin/env node
import { basename } from "node:path";
import { runServerCommand } from "./server.js";

/**
 * Entry point. Started under the name `nats-server` (a link or `exec -a`), it is the server with
 * nats-server's arguments; otherwise the first argument names the command.
 */
function invokedAsNatsServer(): boolean {
  const argv1 = process.argv[1] ?? "";
  return basename(argv1) === "nats-server" || basename(process.argv0) === "nats-server";
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (invokedAsNatsServer()) {
    await runServerCommand(args, "nats-server");
    return;
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
