import type { NatsConnection } from "@nats-io/nats-core";

/** Collect the async errors the server reports to a connection (the official client's status events). */
export function errorsOf(nc: NatsConnection): string[] {
  const errs: string[] = [];
  void (async () => {
    for await (const s of nc.status()) if (s.type === "error") errs.push(String(s.error));
  })().catch(() => {});
  return errs;
}
