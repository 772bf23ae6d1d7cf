import { normalizeStreamConfig, MAX_STREAM_NAME_BYTES } from "../jetstream/stream-config.js";
import type { StreamEntry } from "../jetstream/stream-registry.js";
import { StanErrors } from "./errors.js";
import { channelStream, channelSubject } from "./names.js";
import type { StanJetStream } from "./options.js";

/**
 * nats-streaming-server's default per-channel limits (stores/limits.go DefaultStoreLimits): one
 * million messages and about 976 MiB, the oldest dropped first. They become the stream's limits.
 */
export const STAN_DEFAULT_MAX_MSGS = 1_000_000;
export const STAN_DEFAULT_MAX_BYTES = 1_000_000 * 1024;
/** The stream metadata key that names the channel a stream holds. */
export const CHANNEL_METADATA_KEY = "cuebus.stan.channel";

/** A publish that arrived while its channel's stream was being created (its bytes copied). */
export interface WaitingPub {
  guid: string;
  ackInbox: string;
  data: Buffer;
}

/** One channel: its stream and subject, and whether the stream is served yet. */
export class Channel {
  readonly stream: string;
  readonly subject: string;
  /** Bytes of the channel name, as each MsgProto carries it. */
  readonly nameBytes: number;
  /** The stream is served: publishes go straight to it. */
  ready = false;
  /** Why the stream could not be created (the channel is forgotten, and tried again on next use). */
  error = "";
  /** Publishes waiting for the stream, in arrival order. */
  waiting: WaitingPub[] = [];
  /** Resolves when the stream is served or has failed. */
  settled: Promise<void> = Promise.resolve();

  constructor(readonly name: string) {
    this.stream = channelStream(name);
    this.subject = channelSubject(name);
    this.nameBytes = Buffer.byteLength(name);
  }
}

/**
 * The channels in use, each one stream (docs/stan.md): found among the served streams (it may have
 * been created before a restart, or by a JetStream client), or created through JetStream's own
 * stream administration on first use, as `$JS.API.STREAM.CREATE` would.
 */
export class Channels {
  private readonly byName = new Map<string, Channel>();

  constructor(
    private readonly js: StanJetStream,
    private readonly storage: "file" | "memory",
    /** Called when a channel's stream is served, to send what waited for it. */
    private readonly onReady: (ch: Channel) => void,
  ) {}

  /** A known channel, or undefined. */
  get(name: string): Channel | undefined {
    return this.byName.get(name);
  }

  /** The stream entry of a ready channel (undefined if it was deleted meanwhile). */
  entry(ch: Channel): StreamEntry | undefined {
    return this.js.streams.get(ch.stream);
  }

  /**
   * The channel named `name` (a valid channel name), ready or on its way: its stream is looked up
   * and, when missing, created; `settled` resolves when that is done.
   */
  open(name: string): Channel {
    let ch = this.byName.get(name);
    if (ch !== undefined && (ch.ready || ch.error === "")) {
      if (ch.ready && !this.js.streams.has(ch.stream)) ch.ready = false;
      else return ch;
    }
    ch = new Channel(name);
    this.byName.set(name, ch);
    const existing = this.js.streams.get(ch.stream);
    if (existing !== undefined && this.holds(existing, ch)) {
      ch.ready = true;
      return ch;
    }
    const opened = ch;
    opened.settled = this.create(opened).then((err) => {
      if (err === "") opened.ready = true;
      else {
        opened.error = err;
        if (this.byName.get(name) === opened) this.byName.delete(name);
      }
      this.onReady(opened);
    });
    return ch;
  }

  /** Channels in use, by name. */
  names(): IterableIterator<string> {
    return this.byName.keys();
  }

  private holds(e: StreamEntry, ch: Channel): boolean {
    return e.stream.config.subjects.includes(ch.subject);
  }

  /** Create the channel's stream; "" or why not. */
  private async create(ch: Channel): Promise<string> {
    if (Buffer.byteLength(ch.stream) > MAX_STREAM_NAME_BYTES) return StanErrors.invalidSubject;
    const cfg = normalizeStreamConfig({
      name: ch.stream,
      description: `NATS Streaming channel ${ch.name}`,
      subjects: [ch.subject],
      storage: this.storage,
      retention: "limits",
      max_msgs: STAN_DEFAULT_MAX_MSGS,
      max_bytes: STAN_DEFAULT_MAX_BYTES,
      discard: "old",
      metadata: { [CHANNEL_METADATA_KEY]: ch.name },
    });
    if ("err_code" in cfg) return `stan: unable to create channel: ${cfg.description}`;
    try {
      const r = await this.js.createStream(cfg);
      if ("err_code" in r) {
        // Created meanwhile (by another request, or a JetStream client) with a config of its own.
        const e = this.js.streams.get(ch.stream);
        if (e !== undefined && this.holds(e, ch)) return "";
        return `stan: unable to create channel: ${r.description}`;
      }
      return "";
    } catch (err) {
      return `stan: unable to create channel: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
}
