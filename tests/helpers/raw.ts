import { connect as tcpConnect } from "node:net";

/** Result of a raw exchange: every byte the server sent, and whether it closed the connection. */
export interface RawResult {
  text: string;
  closed: boolean;
}

/** One write of an exchange: fixed bytes, or bytes made from what the server sent so far (e.g. a CONNECT signing INFO's nonce). */
export type Step = string | ((received: string) => string);

/**
 * Send `steps` to a server over a raw socket, one write per step with a pause in between, and
 * collect what comes back until `quietMs` pass with nothing new or the server closes.
 */
export async function exchange(port: number, steps: Step[], quietMs = 150): Promise<RawResult> {
  const sock = tcpConnect(port, "127.0.0.1");
  let text = "";
  let closed = false;
  let last = Date.now();
  sock.on("data", (d) => {
    text += d.toString("latin1");
    last = Date.now();
  });
  sock.on("close", () => (closed = true));
  sock.on("error", () => {});
  await new Promise<void>((r) => sock.once("connect", () => r()));
  const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  // Wait for INFO first, as a client does.
  for (let i = 0; i < 100 && !text.includes("\r\n"); i++) await pause(10);
  for (const s of steps) {
    if (closed) break;
    sock.write(typeof s === "string" ? s : s(text));
    await pause(30);
  }
  while (!closed && Date.now() - last < quietMs) await pause(20);
  sock.destroy();
  return { text, closed };
}

/** The nonce of the first INFO in `received` ("" when it has none). */
export function nonceOf(received: string): string {
  const m = /^INFO (\{.*?\}) \r\n/.exec(received);
  if (m === null) return "";
  const nonce = (JSON.parse(m[1] as string) as { nonce?: unknown }).nonce;
  return typeof nonce === "string" ? nonce : "";
}

/** Mask what legitimately differs between servers: the INFO line's JSON (ids, ports, versions). */
export function mask(text: string): string {
  return text.replace(/^INFO \{.*?\} \r\n/gm, "INFO {...} \r\n");
}

/** The INFO JSON of an exchange, parsed. */
export function infoOf(text: string): Record<string, unknown> {
  const m = /^INFO (\{.*?\}) \r\n/.exec(text);
  if (m === null) throw new Error(`no INFO in ${JSON.stringify(text.slice(0, 80))}`);
  return JSON.parse(m[1] as string) as Record<string, unknown>;
}
