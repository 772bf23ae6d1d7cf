import type { Server } from "node:net";

/** Listen on `port` (0 or -1: a free one) and `host`; resolves with the bound port. */
export async function listenOn(srv: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(port < 0 ? 0 : port, host, () => {
      srv.off("error", reject);
      resolve();
    });
  });
  const addr = srv.address();
  return addr !== null && typeof addr === "object" ? addr.port : 0;
}
