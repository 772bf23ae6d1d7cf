import { startServer } from "../index.js";

/** Parse the nats-server flags we support into options (the config module will own this). */
function parseFlags(args: string[]): { port: number; host: string; httpPort: number | undefined } {
  let port = 4222;
  let host = "0.0.0.0";
  let httpPort: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const next = (): string => {
      const v = args[++i];
      if (v === undefined) throw new Error(`flag ${a} needs a value`);
      return v;
    };
    switch (a) {
      case "-p":
      case "--port":
        port = Number(next());
        break;
      case "-a":
      case "--addr":
      case "--net":
        host = next();
        break;
      case "-m":
      case "--http_port":
        httpPort = Number(next());
        break;
      default:
        throw new Error(`unknown flag ${a}`);
    }
  }
  return { port, host, httpPort };
}

/** `cuebus server`: run until SIGINT/SIGTERM. */
export async function runServerCommand(args: string[], _program: string): Promise<void> {
  const f = parseFlags(args);
  const server = await startServer({ port: f.port, host: f.host, httpPort: f.httpPort });
  const log = (s: string): void => {
    process.stderr.write(`[${process.pid}] ${new Date().toISOString()} [INF] ${s}\n`);
  };
  log(`Listening for client connections on ${f.host}:${server.port}`);
  log("Server is ready");
  const stop = (): void => {
    log("Server Exiting..");
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
