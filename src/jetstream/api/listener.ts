import type { Bus } from "../bus.js";
import { DEAD_LETTER_REPLAY_PREFIX, replayDeadLetters } from "../dead-letter.js";
import { directGetStream, handleDirectGet } from "../direct-get.js";
import { jsError } from "../errors.js";
import type { ApiContext } from "./context.js";
import { DLQ_REPLAY_REQUEST, decodeApiBody } from "./request-schema.js";
import { handleApi } from "./router.js";

/**
 * `$JS.API` requests handled at once, at most (the default; `jetstream { request_queue_limit }`
 * sets it), and the bytes of their bodies: nats-server bounds its API queue the same way
 * (`request_queue_limit`, default 10,000) and drops requests past it unanswered (the client times
 * out and retries). A client sending requests faster than the store can write them would otherwise
 * grow the backlog, and the server's memory, without end.
 */
export const MAX_API_REQUESTS_IN_FLIGHT = 10_000;
export const MAX_API_BYTES_IN_FLIGHT = 64 * 1024 * 1024;
/** The warning about dropped API requests is logged at most this often. */
const API_DROP_WARN_EVERY_MS = 10_000;

/**
 * The bus side of the JetStream API: the subscriptions that take `$JS.API.>` requests (bounded in
 * flight, answered with the router's response), direct gets (`$JS.API.DIRECT.GET.>`, on streams
 * with allow_direct) and dead-letter replays (`$CUEBUS.API.DLQ.REPLAY.<stream>`), and the API
 * counters `/jsz` and `$JS.API.INFO` report.
 */
export class ApiListener {
  apiTotal = 0;
  apiErrors = 0;
  /** `$JS.API` requests dropped because the in-flight limit (or its bytes) was reached. */
  apiDropped = 0;
  private apiInFlight = 0;
  private apiBytesInFlight = 0;
  private apiDropWarnedMs = 0;
  private readonly unsubs: Array<() => void> = [];

  constructor(
    private readonly bus: Bus,
    private readonly warn: (line: string) => void,
    /** Requests in flight at most (MAX_API_REQUESTS_IN_FLIGHT unless configured). */
    private readonly maxInFlight: number = MAX_API_REQUESTS_IN_FLIGHT,
  ) {}

  /** Start answering, with `ctx` as the handlers' view of JetStream. */
  start(ctx: ApiContext): void {
    const bus = this.bus;
    this.unsubs.push(
      bus.subscribe("$JS.API.DIRECT.GET.>", "", (subject, reply, _h, data) => {
        const e = ctx.streams.get(directGetStream(subject));
        if (e === undefined || !e.stream.config.allow_direct || reply === "") return;
        handleDirectGet(bus, e.stream, subject, reply, data);
      }),
    );
    this.unsubs.push(
      bus.subscribe(`${DEAD_LETTER_REPLAY_PREFIX}*`, "", (subject, reply, _h, data) => {
        const name = subject.slice(DEAD_LETTER_REPLAY_PREFIX.length);
        const req = data.length === 0 ? { ok: {} } : decodeApiBody(data, DLQ_REPLAY_REQUEST);
        if ("error" in req) {
          if (reply !== "") bus.publish(reply, "", null, Buffer.from(JSON.stringify({ error: req.error })));
          return;
        }
        replayDeadLetters(ctx.streams, bus, name, req.ok.seq ?? 0, req.ok.delete === true).then(
          (r) => {
            if (reply !== "") bus.publish(reply, "", null, Buffer.from(JSON.stringify(r)));
          },
          () => {},
        );
      }),
    );
    this.unsubs.push(bus.subscribe("$JS.API.>", "", (subject, reply, _h, data) => this.request(ctx, subject, reply, data)));
  }

  /** Stop answering (requests under way still answer). */
  stop(): void {
    for (const u of this.unsubs) u();
    this.unsubs.length = 0;
  }

  private request(ctx: ApiContext, subject: string, reply: string, data: Buffer): void {
    // Pull requests and direct gets have subscriptions of their own.
    if (reply === "" || subject.startsWith("$JS.API.CONSUMER.MSG.NEXT.") || subject.startsWith("$JS.API.DIRECT.GET.")) return;
    if (this.apiInFlight >= this.maxInFlight || this.apiBytesInFlight + data.length > MAX_API_BYTES_IN_FLIGHT) {
      this.apiDropped++;
      const now = Date.now();
      if (now - this.apiDropWarnedMs >= API_DROP_WARN_EVERY_MS) {
        this.apiDropWarnedMs = now;
        this.warn(`JetStream API queue limit reached (${this.apiInFlight} requests, ${this.apiBytesInFlight} bytes in flight), dropping requests (${this.apiDropped} so far)`);
      }
      return;
    }
    // A copy of its own: Buffer.from would cut a small body from Node's shared 8 KiB pool, and a
    // request waiting its turn would hold the whole pool chunk (10,000 waiting held 80 MiB).
    const body = Buffer.allocUnsafeSlow(data.length);
    data.copy(body);
    this.apiInFlight++;
    this.apiBytesInFlight += body.length;
    const done = (): void => {
      this.apiInFlight--;
      this.apiBytesInFlight -= body.length;
    };
    handleApi(ctx, subject, body).then(
      (res) => {
        done();
        this.apiTotal++;
        if ("error" in res) this.apiErrors++;
        this.bus.publish(reply, "", null, Buffer.from(JSON.stringify(res)));
      },
      (err: unknown) => {
        done();
        this.apiErrors++;
        const e = jsError("BadRequest");
        e.description = err instanceof Error ? err.message : String(err);
        this.bus.publish(reply, "", null, Buffer.from(JSON.stringify({ error: e })));
      },
    );
  }
}
