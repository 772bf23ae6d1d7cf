import { readdir, readFile, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { CHUNK_MSGS } from "../index/chunk.js";
import type { MsgIndex } from "../index/msg-index.js";
import { isLeftover, writeFileAtomic } from "./atomic-file.js";
import { INDEX_FILE_NAME, canSaveIndex, decodeIndexFile, encodeIndexFile, type SavedIndex, type SavedSegment } from "./index-file.js";
import type { IndexPages } from "./index-pages.js";
import type { StoreWriteState } from "../types.js";
import { newSegment, segmentName, segmentNames, type ResumeAt, type Segment } from "./segment-io.js";
import type { StoreLog } from "./write-outage.js";

/**
 * Bytes of records appended after which a batch carries a save of the index (or after as many as
 * the last save wrote, when that is more: saving never writes more than the stream does). A start
 * after `kill -9` reads at most about this much of the records.
 */
export const INDEX_SAVE_BYTES = 8 * 1024 * 1024;

/** What a save takes: the store's index (replaced when recovery rebuilds it), its segments and index pages, and how its writes go. */
export interface SaveSource {
  readonly index: MsgIndex;
  readonly segments: readonly Segment[];
  readonly pages: IndexPages;
  writeState(): StoreWriteState;
}

/** A saved index read back: trusted (`saved`, its file's size), or why not. */
export type ReadIndex = { saved: SavedIndex; bytes: number } | { reason: string };

/**
 * When and how a file store's index file is read and written (see index-file.ts for what is in
 * it, docs/storage.md for when): at a start it is read and checked against the segments on disk;
 * saves run one after another in the background, each whole, and a save is wanted once
 * INDEX_SAVE_BYTES of records were appended since the last (or as many as it wrote, if more).
 */
export class IndexKeeper {
  /** The index changed since it was last saved (or was never saved). */
  unsaved = false;
  /** Bytes of records appended since the last save. */
  appendedSinceSave = 0;
  private saving: Promise<void> = Promise.resolve();
  /** Bytes of the last index file saved or loaded. */
  private savedBytes = 0;

  constructor(
    private readonly dir: string,
    private readonly enabled: boolean,
    private readonly log: StoreLog,
    private readonly src: SaveSource,
    /** Record bytes between saves (INDEX_SAVE_BYTES; tests make it small). */
    private readonly saveBytes = INDEX_SAVE_BYTES,
  ) {}

  /**
   * The saved index, if there is one and it can be trusted: its file checks out (length, checksum,
   * version) and the segments on disk agree with it (see disagreement). Null when there is none
   * (or index files are off); a reason when it is not used (then logged).
   */
  async read(): Promise<ReadIndex | null> {
    if (!this.enabled) return null;
    const dir = this.dir;
    // A save a crash interrupted leaves its temp file: never read, removed.
    for (const name of await readdir(dir)) if (name.startsWith(`${INDEX_FILE_NAME}.`) && isLeftover(name)) await unlink(join(dir, name)).catch(() => {});
    let buf: Buffer;
    try {
      buf = await readFile(join(dir, INDEX_FILE_NAME));
    } catch (err) {
      // None saved: one is saved once records were read (a new, empty store has nothing to save).
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      return this.notUsed(`cannot be read: ${(err as Error).message}`);
    }
    const saved = decodeIndexFile(buf);
    if (typeof saved === "string") return this.notUsed(saved);
    const why = await this.disagreement(saved.segments);
    if (why !== null) return this.notUsed(why);
    this.savedBytes = buf.length;
    return { saved, bytes: buf.length };
  }

  /** Report that the saved index is not used and why; the index is rebuilt and saved again. */
  notUsed(reason: string): { reason: string } {
    this.log(`JetStream store ${this.dir}: index file ${INDEX_FILE_NAME} not used (${reason}); rebuilding the index from the segments`);
    this.unsaved = true;
    return { reason };
  }

  /** Segment objects for those the saved index lists, and where reading records resumes. */
  resumeAt(saved: SavedIndex): { resume: ResumeAt; segs: Segment[] } {
    const known = new Map<string, Segment>();
    const segs: Segment[] = [];
    for (const s of saved.segments) {
      const name = segmentName(s.firstSeq);
      const seg = newSegment(join(this.dir, name), s.firstSeq, s.size);
      seg.lastSeq = s.lastSeq;
      known.set(name, seg);
      segs.push(seg);
    }
    const last = saved.segments[saved.segments.length - 1];
    return { resume: { name: last === undefined ? "" : segmentName(last.firstSeq), offset: last?.size ?? 0, segments: known }, segs };
  }

  /**
   * Why the segments on disk do not fit a saved index's list of them (null when they do): every
   * segment it lists is there (or was dropped since: see goneButHeld), none shorter than it says,
   * all but the newest exactly as long, and every segment it does not list newer than those it does.
   */
  private async disagreement(listed: SavedSegment[]): Promise<string | null> {
    const names = await segmentNames(this.dir);
    const newest = listed[listed.length - 1];
    const listedNames = new Set(listed.map((s) => segmentName(s.firstSeq)));
    for (const name of names) {
      if (!listedNames.has(name) && newest !== undefined && name < segmentName(newest.firstSeq)) return `segment ${name} is not in it`;
    }
    for (let i = 0; i < listed.length; i++) {
      const s = listed[i] as SavedSegment;
      const name = segmentName(s.firstSeq);
      let size: number;
      try {
        size = (await stat(join(this.dir, name))).size;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
        return `segment ${name} cannot be read: ${(err as Error).message}`;
      }
      if (size < s.size) return `segment ${name} is ${size} bytes, shorter than the ${s.size} it lists`;
      if (i < listed.length - 1 && size !== s.size) return `closed segment ${name} is ${size} bytes, not ${s.size}`;
    }
    return null;
  }

  /**
   * Whether a batch starting now should carry a save: INDEX_SAVE_BYTES (`saveBytes`) of records were appended
   * since the last one, and at least as many as that save wrote (the index file is written whole,
   * so saving never writes more than the stream does).
   */
  wantsSave(): boolean {
    return this.appendedSinceSave >= Math.max(this.saveBytes, this.savedBytes);
  }

  /**
   * Save `bytes` (the index as it was when they were made) in the background, once `after` (the
   * batch holding the last change, or null when nothing is on its way) has ended, if `stillGood()`
   * then (no write failed since), and then `saved()`. Saves run one after another.
   */
  private save(bytes: Buffer, after: Promise<void> | null, stillGood: () => boolean, saved: () => void = () => {}): void {
    if (!this.enabled || !canSaveIndex()) return;
    this.unsaved = false;
    this.savedBytes = bytes.length;
    this.appendedSinceSave = 0;
    const path = join(this.dir, INDEX_FILE_NAME);
    this.saving = this.saving
      .then(() => after)
      .then(async () => {
        if (!stillGood()) {
          this.unsaved = true;
          return;
        }
        await writeFileAtomic(path, bytes);
        saved();
      })
      .catch((err: unknown) => {
        this.unsaved = true;
        // The directory is gone: the stream is being deleted, and its index with it.
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
        this.log(`JetStream store ${this.dir}: could not save the index (a restart reads the records instead): ${(err as Error).message}`);
      });
  }

  /**
   * A batch started (see CommitStore.batchStarted): if a save is wanted (see wantsSave), take the
   * index as it is now, which is what the segments hold once this batch is durable (`done`), and
   * save it then, unless a write failed meanwhile. A start after a crash then reads at most what
   * was appended since, even while publishing never pauses.
   */
  batchStarted(done: Promise<void>): void {
    if (!this.wantsSave()) return;
    const src = this.src;
    const w = src.writeState();
    if (w.error !== null) return;
    this.saveIndex(done, () => src.writeState().failedWrites === w.failedWrites);
  }

  /** Save the index now (nothing is on its way to the disk: at open and at close). */
  saveNow(): void {
    this.saveIndex(null, () => true);
  }

  /**
   * Save the index as it is now, with the segments it lies in (see save). Page files wholly below
   * the chunk of its first message are not needed once a file saying so is saved: released then.
   */
  private saveIndex(after: Promise<void> | null, stillGood: () => boolean): void {
    const { index, segments, pages } = this.src;
    const first = Math.floor(index.firstSeq() / CHUNK_MSGS);
    this.save(encodeIndexFile(index, segments), after, stillGood, () => pages.release(first));
  }

  /** Resolves once the saves under way have ended. */
  settled(): Promise<void> {
    return this.saving;
  }
}

/**
 * The name of a segment the saved index listed that is no longer on disk while a message held
 * still lies in it; null when there is none (a segment dropped after the save is fine once the
 * records after the save removed everything in it).
 */
export function goneButHeld(resume: ResumeAt, onDisk: readonly Segment[], index: MsgIndex): string | null {
  const present = new Set(onDisk.map((s) => s.ord));
  const first = index.firstSeq();
  for (const [name, seg] of resume.segments) {
    if (!present.has(seg.ord) && seg.lastSeq >= first && index.count > 0) return name;
  }
  return null;
}
