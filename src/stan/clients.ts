import { clampTimerMs } from "../util/timer.js";
import type { ResolvedStanOptions } from "./options.js";
import type { StanRequests } from "./requests.js";
import type { StanSub } from "./sub-binding.js";

/** A connected STAN client (nats-streaming-server's `client`). */
export class StanClient {
  /** Its subscriptions, in the order made. */
  readonly subs = new Set<StanSub>();
  /** Heartbeats unanswered in a row. */
  failedHeartbeats = 0;
  timer: NodeJS.Timeout | null = null;
  closed = false;

  /** The connection id's bytes (a copy), compared with each publish's without converting it. */
  readonly connIDBytes: Buffer;

  constructor(
    readonly id: string,
    readonly hbInbox: string,
    /** The connection id's bytes as latin1 (one char per byte), "" for clients that send none. */
    readonly connID: string,
    readonly protocol: number,
  ) {
    this.connIDBytes = Buffer.from(connID, "latin1");
  }
}

/**
 * The registered clients: by client id and by connection id; the duplicate client-id check (ask the
 * registered connection's heartbeat inbox; if it answers, the new connection is refused, otherwise
 * it replaces the old one); and the server's heartbeats, after `hbFailCount` unanswered ones in a
 * row a client is closed as nats-streaming-server does.
 */
export class StanClients {
  private readonly byId = new Map<string, StanClient>();
  private readonly byConnID = new Map<string, StanClient>();
  /** Client ids whose duplicate check is under way: another connect for them is refused. */
  private readonly checking = new Set<string>();

  constructor(
    private readonly opts: ResolvedStanOptions,
    private readonly requests: StanRequests,
    /** Close what a client leaves behind (its subscriptions); the client is already unregistered. */
    private readonly onClose: (c: StanClient) => Promise<void>,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  get(id: string): StanClient | undefined {
    return this.byId.get(id);
  }

  byConnection(connID: Buffer): StanClient | undefined {
    return this.byConnID.get(connID.toString("latin1"));
  }

  /** nats-streaming-server's isValid: the message's connection id, or without one its client id, is registered. */
  isValid(id: string, connID: Buffer): boolean {
    // nats-streaming-server looks the connection id up when there is one, else the client id; the
    // client id's entry is tried first only because it needs no conversion of the bytes.
    const c = this.byId.get(id);
    if (connID.length === 0) return c !== undefined;
    return (c !== undefined && c.connIDBytes.equals(connID)) || this.byConnID.has(connID.toString("latin1"));
  }

  /** Is a duplicate check running for this id? */
  isChecking(id: string): boolean {
    return this.checking.has(id);
  }

  /**
   * Whether the connection registered as `old` still answers its heartbeat inbox (then a new
   * connect with its id is refused). Only one check per id at a time.
   */
  async stillThere(old: StanClient): Promise<boolean> {
    this.checking.add(old.id);
    try {
      return await this.requests.ask(old.hbInbox, this.opts.dupCheckTimeoutMs);
    } finally {
      this.checking.delete(old.id);
    }
  }

  /** Register a client (replacing one of the same id, whose subscriptions are closed first). */
  async register(id: string, hbInbox: string, connID: Buffer, protocol: number): Promise<StanClient> {
    const old = this.byId.get(id);
    if (old !== undefined) await this.close(old);
    const c = new StanClient(id, hbInbox, connID.toString("latin1"), protocol);
    this.byId.set(id, c);
    if (c.connID !== "") this.byConnID.set(c.connID, c);
    this.armHeartbeat(c);
    return c;
  }

  /**
   * Take back a client kept from before a restart, as it was (it is heartbeaten from now on, and
   * closed as any other if it does not answer).
   */
  restore(id: string, hbInbox: string, connID: Buffer, protocol: number): StanClient {
    const c = new StanClient(id, hbInbox, connID.toString("latin1"), protocol);
    this.byId.set(id, c);
    if (c.connID !== "") this.byConnID.set(c.connID, c);
    this.armHeartbeat(c);
    return c;
  }

  /** Unregister a client and close its subscriptions (durables are kept). */
  async close(c: StanClient): Promise<void> {
    if (c.closed) return;
    c.closed = true;
    if (c.timer !== null) clearTimeout(c.timer);
    c.timer = null;
    if (this.byId.get(c.id) === c) this.byId.delete(c.id);
    if (c.connID !== "" && this.byConnID.get(c.connID) === c) this.byConnID.delete(c.connID);
    await this.onClose(c);
  }

  /** A ping from the client: if heartbeats were failing, send the next one now. */
  pinged(c: StanClient): void {
    // c.timer is null while a heartbeat is out: its answer (or timeout) arms the next.
    if (c.failedHeartbeats > 0 && !c.closed && c.timer !== null) {
      clearTimeout(c.timer);
      c.timer = setTimeout(() => this.heartbeat(c), 1);
    }
  }

  /** Every client, for shutdown. */
  all(): StanClient[] {
    return [...this.byId.values()];
  }

  /** Stop heartbeats (shutdown): clients stay registered in nobody's memory. */
  stop(): void {
    for (const c of this.byId.values()) {
      if (c.timer !== null) clearTimeout(c.timer);
      c.timer = null;
      c.closed = true;
    }
    this.byId.clear();
    this.byConnID.clear();
  }

  private armHeartbeat(c: StanClient): void {
    c.timer = setTimeout(() => this.heartbeat(c), clampTimerMs(this.opts.hbIntervalMs));
    c.timer.unref();
  }

  private heartbeat(c: StanClient): void {
    c.timer = null;
    if (c.closed) return;
    void this.requests.ask(c.hbInbox, this.opts.hbTimeoutMs).then((answered) => {
      if (c.closed) return;
      if (answered) c.failedHeartbeats = 0;
      else if (++c.failedHeartbeats >= this.opts.hbFailCount) {
        void this.close(c);
        return;
      }
      this.armHeartbeat(c);
    });
  }
}
