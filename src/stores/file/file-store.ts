import { mkdir, open, readdir, readFile, truncate, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { MemoryStore } from "../memory/memory-store.js";
import { NoLimits, fileStoredSize, nowNs, type PurgeRequest, type StoreLimits, type StoredMsg } from "../types.js";
import { RecordType, decodeRecord, encodeRecord } from "./record.js";

/** A segment is closed and a new one started once it passes this size. */
export const SEGMENT_MAX_BYTES = 64 * 1024 * 1024;

/**
 * `always` (default): every batch of appends is fdatasync'ed before any of them is acknowledged
 * (group commit). `interval`: acknowledged once written to the OS, fsynced every `syncIntervalMs`;
 * a power cut or kernel crash (not a process crash) can lose what was acknowledged in that window.
 */
export type SyncMode = "always" | "interval";

/** File store options. */
export interface FileStoreOptions {
  dir: string;
  limits?: StoreLimits;
  sync?: SyncMode;
  syncIntervalMs?: number;
  segmentMaxBytes?: number;
}

/** Damage found while opening the store; reported, never served. */
export interface StoreDamage {
  segment: string;
  offset: number;
  bytes: number;
  kind: "corrupt" | "torn-tail";
}

interface Segment {
  path: string;
  firstSeq: number;
  lastSeq: number;
  size: number;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

const segmentName = (firstSeq: number): string => `${String(firstSeq).padStart(20, "0")}.seg`;

/**
 * Append-only segment files with an in-memory index (the memory store's structures). Appends are
 * batched: one write and one fdatasync per batch, then every append of the batch resolves. Write
 * errors are sticky: after one, every later write fails with it until the store is reopened.
 */
export class FileStore extends MemoryStore {
  readonly damage: StoreDamage[] = [];
  private readonly segments: Segment[] = [];
  private fh: FileHandle | null = null;
  private pending: Buffer[] = [];
  private waiters: Waiter[] = [];
  private flushing = false;
  private writeError: Error | null = null;
  private recovering = false;
  private lastFirst = 0;
  private syncTimer: NodeJS.Timeout | null = null;
  private readonly sync: SyncMode;
  private readonly segmentMax: number;

  private constructor(private readonly opts: FileStoreOptions) {
    super(opts.limits ?? NoLimits);
    this.sync = opts.sync ?? "always";
    this.segmentMax = opts.segmentMaxBytes ?? SEGMENT_MAX_BYTES;
  }

  /** Open (or create) the store in `opts.dir`, recovering what is on disk. */
  static async open(opts: FileStoreOptions): Promise<FileStore> {
    const s = new FileStore(opts);
    await mkdir(opts.dir, { recursive: true });
    await s.recover();
    if (s.sync === "interval") {
      s.syncTimer = setInterval(() => {
        void s.fh?.datasync().catch((err: unknown) => s.fail(err));
      }, opts.syncIntervalMs ?? 1000);
      s.syncTimer.unref();
    }
    return s;
  }

  private async recover(): Promise<void> {
    const names = (await readdir(this.opts.dir)).filter((n) => n.endsWith(".seg")).sort();
    this.recovering = true;
    for (let i = 0; i < names.length; i++) {
      const name = names[i] as string;
      const path = join(this.opts.dir, name);
      const buf = await readFile(path);
      const seg: Segment = { path, firstSeq: Number(name.slice(0, 20)), lastSeq: 0, size: buf.length };
      const last = i === names.length - 1;
      let pos = 0;
      while (pos < buf.length) {
        const r = decodeRecord(buf, pos);
        if (typeof r !== "string") {
          this.apply(r.type, r.seq, r.timeNs, r.subject, r.headers, r.data);
          seg.lastSeq = Math.max(seg.lastSeq, r.seq);
          pos += r.size;
          continue;
        }
        // Look for the next intact record; what lies between is damage.
        const next = this.resync(buf, pos + 1);
        if (next === -1) {
          this.damage.push({ segment: name, offset: pos, bytes: buf.length - pos, kind: r === "short" && last ? "torn-tail" : "corrupt" });
          if (last) {
            await truncate(path, pos);
            seg.size = pos;
          }
          break;
        }
        this.damage.push({ segment: name, offset: pos, bytes: next - pos, kind: "corrupt" });
        pos = next;
      }
      this.segments.push(seg);
    }
    this.recovering = false;
    this.lastFirst = this.state().firstSeq;
    const cur = this.segments[this.segments.length - 1];
    if (cur !== undefined) this.fh = await open(cur.path, "a");
  }

  /** Offset of the next decodable record at or after `from`, or -1. */
  private resync(buf: Buffer, from: number): number {
    for (let p = from; p + 4 <= buf.length; p++) {
      const r = decodeRecord(buf, p);
      if (typeof r !== "string") return p;
    }
    return -1;
  }

  private apply(type: number, seq: number, timeNs: bigint, subject: string, headers: Buffer | null, data: Buffer): void {
    if (type === RecordType.MSG) {
      if (seq > this.lastSeq) this.insert({ seq, subject, timeNs, headers, data });
    } else if (type === RecordType.DELETE) {
      this.drop(seq);
    } else {
      this.applyFirst(seq);
    }
  }

  /** Everything below `seq` is gone; the last sequence is at least seq - 1. */
  private applyFirst(seq: number): void {
    for (let s = this.state().firstSeq; s < seq && this.count > 0; s = this.state().firstSeq) this.drop(s);
    if (this.lastSeq < seq - 1) this.lastSeq = seq - 1;
    if (this.count === 0) {
      this.msgs = [];
      this.base = this.lastSeq + 1;
    }
  }

  protected override sizeOf(subject: string, headers: Buffer | null, data: Buffer): number {
    return fileStoredSize(subject, headers, data);
  }

  protected override drop(seq: number): StoredMsg | null {
    const wasFirst = !this.recovering && this.count > 0 && seq === this.firstSeq();
    const m = super.drop(seq);
    if (m !== null && !this.recovering && !wasFirst) {
      this.pending.push(encodeRecord(RecordType.DELETE, seq, 0n, "", null, EMPTY));
    }
    return m;
  }

  /** After a change: log a first-sequence record when the front moved. */
  private noteFirst(): void {
    const first = this.state().firstSeq;
    if (first !== this.lastFirst) {
      this.lastFirst = first;
      this.pending.push(encodeRecord(RecordType.FIRST, first, 0n, "", null, EMPTY));
    }
  }

  override async append(subject: string, headers: Buffer | null, data: Buffer, timeNs: bigint = nowNs()): Promise<number> {
    if (this.writeError !== null) throw this.writeError;
    const seq = this.lastSeq + 1;
    this.checkDiscardNew(this.sizeOf(subject, headers, data));
    this.pending.push(encodeRecord(RecordType.MSG, seq, timeNs, subject, headers, data));
    this.insert({ seq, subject, timeNs, headers, data });
    this.enforceAfterAppend(subject);
    this.noteFirst();
    await this.commit();
    const oldest = this.segments[0];
    if (this.segments.length > 1 && oldest !== undefined && oldest.lastSeq < this.lastFirst) await this.dropDeadSegments();
    return seq;
  }

  override async remove(seq: number): Promise<boolean> {
    if (this.writeError !== null) throw this.writeError;
    const ok = await super.remove(seq);
    this.noteFirst();
    if (ok) await this.commit();
    return ok;
  }

  override async purge(req: PurgeRequest = {}): Promise<number> {
    if (this.writeError !== null) throw this.writeError;
    const n = await super.purge(req);
    this.noteFirst();
    await this.commit();
    await this.dropDeadSegments();
    return n;
  }

  override async setLimits(limits: StoreLimits): Promise<void> {
    await super.setLimits(limits);
    this.noteFirst();
    await this.commit();
    await this.dropDeadSegments();
  }

  override async expire(now: bigint = nowNs()): Promise<number> {
    const n = await super.expire(now);
    if (n > 0) {
      this.noteFirst();
      await this.commit();
      await this.dropDeadSegments();
    }
    return n;
  }

  /** Wait until everything pending is on disk (group commit: many callers share one write + sync). */
  private commit(): Promise<void> {
    if (this.pending.length === 0 && !this.flushing) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flushLoop());
      }
    });
  }

  private async flushLoop(): Promise<void> {
    while (this.waiters.length > 0) {
      const bufs = this.pending;
      const waiters = this.waiters;
      this.pending = [];
      this.waiters = [];
      try {
        if (this.writeError !== null) throw this.writeError;
        if (bufs.length > 0) await this.writeBatch(bufs);
        for (const w of waiters) w.resolve();
      } catch (err) {
        const e = this.fail(err);
        for (const w of waiters) w.reject(e);
      }
    }
    this.flushing = false;
  }

  private async writeBatch(bufs: Buffer[]): Promise<void> {
    let bytes = 0;
    for (const b of bufs) bytes += b.length;
    let cur = this.segments[this.segments.length - 1];
    if (cur === undefined || this.fh === null || (cur.size > 0 && cur.size + bytes > this.segmentMax)) {
      await this.fh?.close();
      // Names must sort in creation order: never reuse the previous segment's number.
      const id = Math.max(this.lastSeq, (cur?.firstSeq ?? 0) + 1);
      cur = { path: join(this.opts.dir, segmentName(id)), firstSeq: id, lastSeq: 0, size: 0 };
      this.segments.push(cur);
      this.fh = await open(cur.path, "a");
      await syncDir(this.opts.dir);
    }
    await this.fh.writev(bufs);
    cur.size += bytes;
    cur.lastSeq = this.lastSeq;
    if (this.sync === "always") await this.fh.datasync();
  }

  /** Unlink closed segments that hold nothing at or above the first sequence. */
  private async dropDeadSegments(): Promise<void> {
    const first = this.state().firstSeq;
    while (this.segments.length > 1) {
      const seg = this.segments[0] as Segment;
      if (seg.lastSeq >= first) break;
      this.segments.shift();
      await unlink(seg.path).catch(() => {});
    }
  }

  private fail(err: unknown): Error {
    const e = err instanceof Error ? err : new Error(String(err));
    this.writeError ??= e;
    return this.writeError;
  }

  override async close(): Promise<void> {
    if (this.syncTimer !== null) clearInterval(this.syncTimer);
    await this.commit().catch(() => {});
    await this.fh?.datasync().catch(() => {});
    await this.fh?.close();
    this.fh = null;
  }
}

const EMPTY = Buffer.alloc(0);

/** fsync a directory so a new file's entry survives a crash. */
async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, "r");
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
