import type { Bus } from "./bus.js";
import type { RePublish } from "./stream-config.js";
import { compileTransform, type SubjectTransform } from "./subject-transform.js";

/**
 * A stream's RePublish (nats-server `processJetStreamMsg`): each message stored on a subject the
 * transform's source matches is published again, as a core message, on the transformed subject,
 * with `Nats-Stream`, `Nats-Subject`, `Nats-Sequence` and `Nats-Last-Sequence` (the previous
 * message's sequence on the same subject, 0 when none) added to its headers; `headers_only` sends
 * `Nats-Msg-Size` instead of the payload. As nats-server does, it goes out once the message is
 * stored, not once its batch is fsynced. Only streams with RePublish pay for any of this.
 */
export class Republisher {
  private constructor(
    private readonly stream: string,
    private readonly transform: SubjectTransform,
    private readonly headersOnly: boolean,
    private readonly bus: Bus,
  ) {}

  /** The republisher of a config, or null without RePublish (or with a transform the config check would refuse). */
  static of(stream: string, rp: RePublish | undefined, bus: Bus): Republisher | null {
    if (rp === undefined) return null;
    const tr = compileTransform(rp.src, rp.dest);
    return tr === null ? null : new Republisher(stream, tr, rp.headers_only === true, bus);
  }

  /** Where a message on `subject` goes, or null when the source does not match it. */
  target(subject: string): string | null {
    return this.transform.apply(subject);
  }

  /** Republish stored message `seq` (its subject's previous one: `lastSeq`) to `to`. */
  send(to: string, subject: string, seq: number, lastSeq: number, headers: Buffer | null, data: Buffer): void {
    const base = headers === null || headers.length < 4 ? "NATS/1.0\r\n" : headers.subarray(0, headers.length - 2).toString("latin1");
    let h = `${base}Nats-Stream: ${this.stream}\r\nNats-Subject: ${subject}\r\nNats-Sequence: ${seq}\r\nNats-Last-Sequence: ${lastSeq}\r\n`;
    if (this.headersOnly) h += `Nats-Msg-Size: ${data.length}\r\n`;
    this.bus.publish(to, "", Buffer.from(`${h}\r\n`, "latin1"), this.headersOnly ? EMPTY : data);
  }
}

const EMPTY = Buffer.alloc(0);
