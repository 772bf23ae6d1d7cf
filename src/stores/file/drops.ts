import { unlink } from "node:fs/promises";
import type { MsgIndex } from "../index/msg-index.js";
import type { IndexKeeper } from "./index-keeper.js";
import { RecordType, encodeRecord } from "./record.js";
import type { Segment } from "./segment-io.js";
import type { TakeBack } from "./take-back.js";

/** What dropping works on: the store's index (replaced when recovery rebuilds it), its index keeper and its segments. */
export interface DropStore {
  readonly index: MsgIndex;
  readonly keeper: IndexKeeper;
  /** The segments on disk, oldest first. */
  readonly segments: Segment[];
  /** Segments by their number, as the location table names them. */
  readonly segByOrd: Map<number, Segment>;
}

/** Where a drop's record goes: the group commit's queue (see GroupCommit.queue). */
export interface DropLog {
  queue(rec: Buffer, seq: number): void;
}

/** What reads a segment: told to stop before the segment goes (see RecordReader.forget). */
export interface SegmentReaders {
  forget(seg: Segment): Promise<void>;
}

/**
 * How a file store drops messages, and then the segments they leave empty. A message dropped
 * leaves the index and is logged in the segments: a delete record, or, when it was the first, a
 * first-sequence record once the change is done (noteFirst: one however far the front moved); it
 * is journalled for the take-back of a failed batch (see TakeBack). Closed segments that hold
 * nothing at or above the first sequence are then forgotten and unlinked.
 */
export class Drops {
  /** Recovering: drops log no record (the segments already say what recovery reads). */
  recovering = false;
  /** Drops one message (what limits and expiry are handed: made once, no closure per append). */
  readonly dropOne = (seq: number): void => void this.drop(seq);
  /** Dropping a record found corrupt: not put back by a roll-back. */
  private droppingCorrupt = false;
  /** The first sequence the segments were last told of. */
  private lastFirst = 0;
  /** The run unlinking dead segments under way (one at a time). */
  private unlinking: Promise<void> | null = null;

  constructor(
    private readonly store: DropStore,
    private readonly log: DropLog,
    private readonly takeBack: TakeBack,
    private readonly readers: SegmentReaders,
  ) {}

  /** Remove one message from the index, logging the change (a delete record, unless the front moved); false when absent. */
  drop(seq: number): boolean {
    const store = this.store;
    const index = store.index;
    if (!index.has(seq)) return false;
    const quiet = this.recovering || this.takeBack.undoing;
    store.keeper.unsaved = true;
    if (quiet) return index.remove(seq);
    const wasFirst = seq === index.firstSeq();
    if (!this.droppingCorrupt) this.takeBack.dropping(seq);
    index.remove(seq);
    if (!wasFirst) this.log.queue(encodeRecord(RecordType.DELETE, seq, 0n, "", null, EMPTY), 0);
    return true;
  }

  /** Drop a message whose record was found corrupt: a roll-back does not put it back. */
  dropCorrupt(seq: number): void {
    this.droppingCorrupt = true;
    try {
      this.drop(seq);
    } finally {
      this.droppingCorrupt = false;
    }
  }

  /** After a change: log a first-sequence record when the front moved. */
  noteFirst(): void {
    const first = this.store.index.firstSeq();
    if (first !== this.lastFirst) {
      this.lastFirst = first;
      this.log.queue(encodeRecord(RecordType.FIRST, first, 0n, "", null, EMPTY), 0);
    }
  }

  /** The segments say where the front is already (after recovery, or a take-back): no record is due. */
  frontKnown(): void {
    this.lastFirst = this.store.index.firstSeq();
  }

  /** Unlink closed segments that hold nothing at or above the first sequence (one run at a time). */
  deadSegments(): Promise<void> {
    const segments = this.store.segments;
    const oldest = segments[0];
    if (segments.length < 2 || oldest === undefined || oldest.lastSeq >= this.lastFirst) return Promise.resolve();
    this.unlinking ??= this.unlinkDead().finally(() => {
      this.unlinking = null;
    });
    return this.unlinking;
  }

  private async unlinkDead(): Promise<void> {
    const segments = this.store.segments;
    const first = this.store.index.firstSeq();
    while (segments.length > 1) {
      const seg = segments[0] as Segment;
      if (seg.lastSeq >= first) break;
      segments.shift();
      await this.forget(seg);
      await unlink(seg.path).catch(() => {});
    }
  }

  /** Stop reading a segment that is going away. */
  async forget(seg: Segment): Promise<void> {
    this.store.segByOrd.delete(seg.ord);
    await this.readers.forget(seg);
  }
}

const EMPTY = Buffer.alloc(0);
