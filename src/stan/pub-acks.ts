import type { Bus } from "../jetstream/bus.js";
import type { JsApiError } from "../jetstream/errors.js";
import type { DirectReplies } from "../jetstream/publish-ack.js";
import type { Channel } from "./channels.js";
import { encodePubAck } from "./protocol.js";

/**
 * Publishes in flight at once, over every channel: one more is refused with a PubAck error
 * (a client's own window, 16,384 by default, is far below it).
 */
export const MAX_PUBS_IN_FLIGHT = 1 << 20;

/** The `PubAck` error of a publish refused because too many are in flight. */
export const TOO_MANY_PUBS = "stan: too many publishes in flight";

/**
 * A STAN publish goes into its channel's stream the way any publish to a stream goes: published
 * on the stream's subject with a reply subject of ours, so the stream admits and stores it on its
 * own write path (limits, group commit) and answers with its JetStream ack once the message is
 * durable. That ack comes back here and becomes the client's `PubAck`: handed over by the stream
 * directly (DirectReplies: a reply subject per publish, routed, was a subject-cache miss and
 * insert each time), or routed when it comes another way. Per publish: one reply subject and two
 * map entries, no closure or promise.
 */
export class PubAcks implements DirectReplies {
  /** `_STAN.pa.<server>.`: the reply subjects of publishes into streams. */
  readonly prefix: string;
  private next = 1;
  private readonly guids = new Map<number, string>();
  private readonly inboxes = new Map<number, string>();
  private unsub: (() => void) | null = null;
  private direct: ((d: DirectReplies | null) => void) | null = null;

  constructor(
    private readonly bus: Bus,
    serverId: string,
  ) {
    this.prefix = `_STAN.pa.${serverId}.`;
  }

  start(direct: ((d: DirectReplies | null) => void) | null = null): void {
    this.unsub = this.bus.subscribe(`${this.prefix}*`, "", (subject, _reply, _h, data) => this.onStreamAck(subject, data));
    this.direct = direct;
    direct?.(this);
  }

  stop(): void {
    this.direct?.(null);
    this.direct = null;
    this.unsub?.();
    this.unsub = null;
    this.guids.clear();
    this.inboxes.clear();
  }

  /** Publishes waiting for their stream's ack. */
  get inFlight(): number {
    return this.guids.size;
  }

  /** Store `data` in `ch`'s stream; the PubAck for `guid` goes to `ackInbox` once it is durable. */
  send(ch: Channel, guid: string, ackInbox: string, data: Buffer): void {
    if (this.guids.size >= MAX_PUBS_IN_FLIGHT) {
      this.error(ackInbox, guid, TOO_MANY_PUBS);
      return;
    }
    const token = this.next++;
    if (ackInbox !== "") {
      this.guids.set(token, guid);
      this.inboxes.set(token, ackInbox);
    }
    const n = this.bus.publish(ch.subject, ackInbox === "" ? "" : this.prefix + token, null, data);
    if (n === 0) {
      // The stream went away (deleted by a JetStream client): nothing will answer.
      this.guids.delete(token);
      this.inboxes.delete(token);
      ch.ready = false;
      this.error(ackInbox, guid, `stan: channel ${ch.name} is not available`);
    }
  }

  /** Answer a publish with an error. */
  error(ackInbox: string, guid: string, text: string): void {
    if (ackInbox !== "") this.bus.publish(ackInbox, "", null, encodePubAck(guid, text));
  }

  /** The stream's ack handed over directly (DirectReplies). */
  ack(reply: string, _seq: number, _duplicate: boolean, error: JsApiError | null): void {
    this.answer(reply, error === null ? "" : `stan: ${error.description}`);
  }

  /** The stream's ack routed: `{"stream":..., "seq":n}`, or `{"error":{..., "description":...}, ...}`. */
  private onStreamAck(subject: string, data: Buffer): void {
    // `{"e` starts only an error ack; a success ack needs no parsing.
    this.answer(subject, data[2] === 0x65 ? errorText(data) : "");
  }

  /** The client's PubAck for the publish whose reply subject is `reply` (once: the entries go). */
  private answer(reply: string, text: string): void {
    const token = Number(reply.slice(this.prefix.length));
    const guid = this.guids.get(token);
    const inbox = this.inboxes.get(token);
    if (guid === undefined || inbox === undefined) return;
    this.guids.delete(token);
    this.inboxes.delete(token);
    this.bus.publish(inbox, "", null, encodePubAck(guid, text));
  }
}

/** The description of a JetStream error ack, as the PubAck's error. */
function errorText(data: Buffer): string {
  try {
    const v = JSON.parse(data.toString("utf8")) as { error?: { description?: unknown } };
    const d = v.error?.description;
    return `stan: ${typeof d === "string" ? d : "the message could not be stored"}`;
  } catch {
    return "stan: the message could not be stored";
  }
}
