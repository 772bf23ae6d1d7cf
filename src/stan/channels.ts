import { normalizeStreamConfig, MAX_STREAM_NAME_BYTES, type StreamConfig } from "../jetstream/stream-config.js";
import type { StreamEntry } from "../jetstream/stream-registry.js";
import { StanErrors } from "./errors.js";
import type { ChannelLimits, StoreLimits } from "./limits.js";
import { CHANNEL_STREAM_PREFIX, channelStream, channelSubject } from "./names.js";
import type { StanJetStream } from "./options.js";

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
    /** The store limits: each channel's stream gets its message limits; `maxChannels` caps the channels. */
    private readonly limits: StoreLimits,
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

  /**
   * Channels there are, as `max_channels` counts them: the channels' streams, and those being
   * created whose stream is not there yet (`except` aside).
   */
  private count(except: Channel): number {
    let n = 0;
    for (const name of this.js.streams.keys()) if (name.startsWith(CHANNEL_STREAM_PREFIX)) n++;
    for (const ch of this.byName.values()) if (ch !== except && !ch.ready && ch.error === "" && !this.js.streams.has(ch.stream)) n++;
    return n;
  }

  /**
   * Give every channel's stream the limits configured now (they may have changed since it was
   * made: nats-streaming-server applies its limits to the channels it recovers). Only streams this
   * adapter made (its metadata names the channel) are changed. Returns a line per stream it could not change.
   */
  async applyLimits(): Promise<string[]> {
    const failed: string[] = [];
    for (const [name, e] of [...this.js.streams]) {
      const channel = e.stream.config.metadata?.[CHANNEL_METADATA_KEY];
      if (!name.startsWith(CHANNEL_STREAM_PREFIX) || channel === undefined) continue;
      const cfg = e.stream.config;
      const want = streamLimits(this.limits.of(channel));
      if (cfg.max_msgs === want.max_msgs && cfg.max_bytes === want.max_bytes && cfg.max_age === want.max_age) continue;
      // The duplicate window is worked out again: it may not outlast a shorter max_age.
      const { duplicate_window: _dup, ...rest } = cfg;
      const next = normalizeStreamConfig({ ...rest, ...want });
      const r = "err_code" in next ? next : await this.js.updateStream(next);
      if ("err_code" in r) failed.push(`NATS Streaming: channel "${channel}": its stream's limits could not be changed: ${r.description}`);
    }
    return failed;
  }

  /** Create the channel's stream; "" or why not. */
  private async create(ch: Channel): Promise<string> {
    if (Buffer.byteLength(ch.stream) > MAX_STREAM_NAME_BYTES) return StanErrors.invalidSubject;
    // nats-streaming-server's canAddChannel: counted when the channel would be made.
    const max = this.limits.maxChannels;
    if (max > 0 && this.count(ch) >= max) return StanErrors.tooManyChannels;
    const cfg = normalizeStreamConfig({
      name: ch.stream,
      description: `NATS Streaming channel ${ch.name}`,
      subjects: [ch.subject],
      storage: this.storage,
      retention: "limits",
      ...streamLimits(this.limits.of(ch.name)),
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

/** A channel's message limits as its stream's (0, unlimited, is JetStream's -1 for counts and 0 for age). */
function streamLimits(l: ChannelLimits): Pick<StreamConfig, "max_msgs" | "max_bytes" | "max_age"> {
  return { max_msgs: l.maxMsgs > 0 ? l.maxMsgs : -1, max_bytes: l.maxBytes > 0 ? l.maxBytes : -1, max_age: l.maxAgeMs * 1_000_000 };
}
