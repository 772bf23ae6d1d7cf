import type { MsgIndex } from "../index/msg-index.js";
import type { IndexKeeper } from "./index-keeper.js";
import type { LocTable } from "./loc-table.js";
import type { RecordCache } from "./record-cache.js";
import { UndoJournal } from "./undo-journal.js";

/** What taking back works on: the store's index and record locations (replaced when recovery rebuilds them), its record cache and index keeper. */
export interface TakeBackStore {
  readonly index: MsgIndex;
  readonly locs: LocTable;
  readonly cache: RecordCache;
  readonly keeper: IndexKeeper;
}

/**
 * What a file store's failed batch takes back (see GroupCommit.rollBack): every drop (but of a
 * record found corrupt) is journalled (UndoJournal) until the batch holding its record is
 * acknowledged; a failure makes the index what the acknowledged batches left on disk, every
 * message appended after them forgotten and every message dropped since put back.
 */
export class TakeBack {
  private readonly undo = new UndoJournal();
  private taking = false;

  constructor(private readonly store: TakeBackStore) {}

  /** Taking back what was not written: drops log no record and are not themselves undone. */
  get undoing(): boolean {
    return this.taking;
  }

  /** How many drops were journalled so far (a batch's drops end at the count when it starts). */
  get mark(): number {
    return this.undo.mark;
  }

  /** `seq` is about to be dropped: journal what puts it back (its subject, size, time and place). */
  dropping(seq: number): void {
    const { index, locs } = this.store;
    this.undo.push(seq, index.subjectOf(seq) as string, index.sizeOf(seq), index.timeOf(seq), locs.seg(seq), locs.off(seq), locs.len(seq));
  }

  /** The drops journalled before `mark` are for good (their batch was acknowledged). */
  acknowledged(mark: number): void {
    this.undo.acknowledged(mark);
  }

  /**
   * The index as the acknowledged batches left it on disk (a write failed): every message above
   * `seq` (the last one stored at `timeNs`) forgotten, every message dropped since put back.
   */
  takeBack(seq: number, timeNs: bigint): void {
    const store = this.store;
    this.taking = true;
    store.keeper.unsaved = true;
    try {
      store.index.rewind(seq, timeNs);
      store.cache.truncateAbove(seq);
      this.undo.takeAll((s, subject, size, t, segOrd, off, len) => {
        if (s > seq || store.index.has(s)) return;
        store.index.add(s, subject, size, t);
        store.locs.set(s, segOrd, off, len);
      });
    } finally {
      this.taking = false;
    }
  }
}
