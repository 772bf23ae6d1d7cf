import { normalizeStreamConfig } from "../jetstream/stream-config.js";
import type { StreamEntry } from "../jetstream/stream-registry.js";
import type { StanJetStream } from "./options.js";

/**
 * Where the adapter keeps what nats-streaming-server keeps in its store besides messages: this
 * server's protocol subjects, the registered clients and their subscriptions, so that after a
 * restart the same clients go on (their publishes, acks and pings reach the same subjects, their
 * subscriptions keep receiving) without connecting again. One JetStream stream, `STAN-STATE`
 * (no channel's stream is named so: those start `STAN_`), one subject per record holding its last
 * version (`max_msgs_per_subject: 1`); a record is removed by purging its subject. Writes go
 * through the stream's own write path, so a record is durable before the request it belongs to
 * is answered.
 */
export const STATE_STREAM = "STAN-STATE";
const STATE_PREFIX = "_STAN.state.";

/** This server's identity: the id its protocol subjects end with, and the cluster id it serves. */
export interface ServerRecord {
  serverId: string;
  clusterId: string;
}

/** A registered client. */
export interface ClientRecord {
  id: string;
  hbInbox: string;
  /** The connection id's bytes, base64. */
  connID: string;
  protocol: number;
}

/** A subscription (one member of a queue group is one). */
export interface SubRecord {
  id: number;
  clientID: string;
  channel: string;
  inbox: string;
  maxInFlight: number;
  ackWaitSecs: number;
  durableName: string;
  qGroup: string;
  /** Its consumer on the channel's stream. */
  consumer: string;
}

/** What was kept, as read at start. */
export interface StanStateSnapshot {
  server: ServerRecord | null;
  clients: ClientRecord[];
  subs: SubRecord[];
}

type Shape = Readonly<Record<string, "string" | "number">>;
const SERVER_SHAPE: Shape = { serverId: "string", clusterId: "string" };
const CLIENT_SHAPE: Shape = { id: "string", hbInbox: "string", connID: "string", protocol: "number" };
const SUB_SHAPE: Shape = { id: "number", clientID: "string", channel: "string", inbox: "string", maxInFlight: "number", ackWaitSecs: "number", durableName: "string", qGroup: "string", consumer: "string" };

/** Is `v` an object whose fields have these types? */
function hasShape(v: unknown, shape: Shape): boolean {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return Object.entries(shape).every(([k, t]) => typeof o[k] === t);
}

/** Reads and writes the adapter's records (see STATE_STREAM). */
export class StanState {
  constructor(
    private readonly js: StanJetStream,
    private readonly storage: "file" | "memory",
  ) {}

  /** This server's record, written with the first record after it is set (see useServer). */
  private server: ServerRecord | null = null;
  private serverWritten = false;

  /**
   * Read every record. The stream is made only when a first record is written: a server whose
   * JetStream clients never use NATS Streaming shows no stream of it.
   */
  async load(): Promise<StanStateSnapshot> {
    const out: StanStateSnapshot = { server: null, clients: [], subs: [] };
    const e = this.js.streams.get(STATE_STREAM);
    if (e === undefined) return out;
    await e.stream.store.scan(1, (m) => {
      let v: unknown;
      try {
        v = JSON.parse(m.data.toString("utf8"));
      } catch {
        return;
      }
      // Anyone allowed to publish there could have written it: only well-formed records are taken.
      const kind = m.subject.slice(STATE_PREFIX.length).split(".")[0];
      if (kind === "server" && hasShape(v, SERVER_SHAPE)) out.server = v as ServerRecord;
      else if (kind === "client" && hasShape(v, CLIENT_SHAPE)) out.clients.push(v as ClientRecord);
      else if (kind === "sub" && hasShape(v, SUB_SHAPE) && Number.isSafeInteger((v as SubRecord).id)) out.subs.push(v as SubRecord);
    });
    return out;
  }

  /** This server's record; `written`: it is on record already (taken back at start). */
  useServer(r: ServerRecord, written: boolean): void {
    this.server = r;
    this.serverWritten = written;
  }

  putClient(r: ClientRecord): Promise<void> {
    return this.put(`client.${r.id}`, r);
  }

  removeClient(id: string): Promise<void> {
    return this.remove(`client.${id}`);
  }

  putSub(r: SubRecord): Promise<void> {
    return this.put(`sub.${r.id}`, r);
  }

  removeSub(id: number): Promise<void> {
    return this.remove(`sub.${id}`);
  }

  /** Write a record; resolves once it is durable, rejects if it could not be stored. */
  private async put(key: string, record: object): Promise<void> {
    const e = await this.ensure();
    const r = await e.stream.publish(STATE_PREFIX + key, null, Buffer.from(JSON.stringify(record)));
    if ("error" in r) throw new Error(r.error.description);
  }

  /** The state stream, created on first use, with this server's record in it first. */
  private async ensure(): Promise<StreamEntry> {
    let e = this.js.streams.get(STATE_STREAM);
    if (e === undefined) {
      const cfg = normalizeStreamConfig({
        name: STATE_STREAM,
        description: "NATS Streaming: this server's subjects, clients and subscriptions",
        subjects: [`${STATE_PREFIX}>`],
        storage: this.storage,
        max_msgs_per_subject: 1,
        discard: "old",
      });
      if ("err_code" in cfg) throw new Error(cfg.description);
      const r = await this.js.createStream(cfg);
      if ("err_code" in r) throw new Error(`the stream ${STATE_STREAM} could not be created: ${r.description}`);
      e = r.entry;
    }
    if (!this.serverWritten && this.server !== null) {
      this.serverWritten = true;
      const r = await e.stream.publish(`${STATE_PREFIX}server`, null, Buffer.from(JSON.stringify(this.server)));
      if ("error" in r) {
        this.serverWritten = false;
        throw new Error(r.error.description);
      }
    }
    return e;
  }

  private async remove(key: string): Promise<void> {
    if (!this.js.streams.has(STATE_STREAM)) return;
    await this.js.purgeStream(STATE_STREAM, { filter: STATE_PREFIX + key });
  }
}
