import type { ServerResponse } from "node:http";
import { privateInbox, type GatewayBus } from "./bus-client.js";
import { parseHeaders } from "../protocol/headers.js";
import { HttpError, sendError } from "./http-util.js";
import { messageJson, parseAckSubject } from "./message-json.js";
import { clampTimerMs } from "../util/timer.js";

/** How long past `wait_ms` a poll waits for the consumer's own end-of-request status before answering anyway. */
export const LONG_POLL_GRACE_MS = 1_000;

const NAK = Buffer.from("-NAK");

/**
 * One long poll: a `CONSUMER.MSG.NEXT` request on a fresh inbox, answered when the consumer says the
 * request is over. The request is `{batch, no_wait: true, expires}`: JetStream then waits (up to
 * `expires`) for a first message, delivers what it has up to `batch`, and ends the request with a
 * 408 as soon as it runs out, so the HTTP answer goes out as soon as messages exist instead of
 * waiting for the batch to fill. 404/408 end it; a 409 (push consumer, deleted, over a limit) is
 * answered as a 409 unless messages already came.
 */
export class LongPoll {
  /** Settles once the poll is answered (or its client left). */
  readonly done: Promise<void>;
  private resolveDone: () => void = () => {};
  private unsub: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly messages: string[] = [];
  private readonly acks: string[] = [];
  private finished = false;

  constructor(
    private readonly bus: GatewayBus,
    private readonly res: ServerResponse,
    private readonly nextSubject: string,
    private readonly batch: number,
    private readonly waitMs: number,
  ) {
    this.done = new Promise<void>((resolve) => {
      this.resolveDone = resolve;
    });
    this.onMessage = this.onMessage.bind(this);
    this.onClose = this.onClose.bind(this);
    this.finish = this.finish.bind(this);
  }

  /** Send the pull request. */
  start(): void {
    const inbox = privateInbox();
    // Subscribed before the request goes out: JetStream drops requests whose reply has no interest.
    this.unsub = this.bus.client.subscribe(inbox, "", this.onMessage);
    this.res.once("close", this.onClose);
    const req: Record<string, unknown> = { batch: this.batch, no_wait: true };
    if (this.waitMs > 0) req["expires"] = this.waitMs * 1e6;
    this.timer = setTimeout(this.finish, clampTimerMs(this.waitMs + LONG_POLL_GRACE_MS));
    this.bus.client.publish(this.nextSubject, inbox, null, Buffer.from(JSON.stringify(req)));
  }

  private onMessage(subject: string, reply: string, headers: Buffer | null, data: Buffer): void {
    if (this.finished) return;
    if (reply === "") {
      // A status: delivered messages always carry their ack subject as the reply.
      const h = parseHeaders(headers);
      const status = h?.status ?? 0;
      if (status === 100) return; // idle heartbeat
      if (status === 404 || status === 408 || this.messages.length > 0) this.finish();
      else this.fail(new HttpError(status >= 400 && status < 500 ? status : 502, `consumer: ${status} ${h?.description ?? ""}`.trim()));
      return;
    }
    const ack = parseAckSubject(reply);
    if (ack === null) return;
    const extra = `,"deliveries":${ack.deliveries},"ack_token":"${Buffer.from(reply, "utf8").toString("base64url")}"`;
    this.messages.push(messageJson(subject, ack.seq, ack.timeNs, headers, data, extra));
    this.acks.push(reply);
    if (this.messages.length >= this.batch) this.finish();
  }

  /** Answer with the messages so far (204 when none). */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.release();
    const res = this.res;
    if (!res.destroyed && !res.headersSent) {
      if (this.messages.length === 0) {
        res.writeHead(204);
        res.end();
      } else {
        const body = `{"messages":[${this.messages.join(",")}]}`;
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
        res.end(body);
      }
    }
    this.resolveDone();
  }

  private fail(err: HttpError): void {
    this.finished = true;
    this.release();
    if (!this.res.destroyed) sendError(this.res, err);
    this.resolveDone();
  }

  /** The client went away before its answer: hand back what it was given for redelivery now, not after ack_wait. */
  private onClose(): void {
    if (this.finished) return;
    this.finished = true;
    this.release();
    for (const a of this.acks) this.bus.client.publish(a, "", null, NAK);
    this.resolveDone();
  }

  private release(): void {
    this.unsub?.();
    this.unsub = null;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.res.off("close", this.onClose);
  }
}
