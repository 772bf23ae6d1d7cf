import type { MsgIndex } from "../index/msg-index.js";
import { fileStoredSize } from "../types.js";
import type { IndexKeeper } from "./index-keeper.js";
import { goneButHeld } from "./index-keeper.js";
import { RESIDENT_PAGES_MAX, type IndexPages } from "./index-pages.js";
import type { LocTable } from "./loc-table.js";
import type { LostMessages } from "./lost-messages.js";
import { RecordType, type DecodedRecord } from "./record.js";
import { recoverSegments, type ResumeAt, type Segment, type StoreDamage } from "./segment-io.js";

/** How the last open found the index: loaded from its file, or rebuilt from the records (and why). */
export interface IndexRecovery {
  index: "loaded" | "rebuilt";
  /** Why the saved index was not used ("" when it was; "none saved" when there was none). */
  reason: string;
  /** Records read at open: those after the saved index, or every one when rebuilt. */
  recordsRead: number;
}

/** Chunks with their arrays in memory past which recovery writes pages as it reads. */
const RECOVERY_PAGES_AT = RESIDENT_PAGES_MAX * 4;

/** What a file store's recovery works on. */
export interface RecoveryHost {
  readonly dir: string;
  /** Bytes read at a time (see RECOVERY_CHUNK_BYTES). */
  readonly chunkBytes: number;
  readonly indexFileOff: boolean;
  readonly keeper: IndexKeeper;
  readonly pages: IndexPages;
  readonly damage: StoreDamage[];
  readonly lost: LostMessages;
  readonly recovery: IndexRecovery;
  readonly segByOrd: Map<number, Segment>;
  index(): MsgIndex;
  locs(): LocTable;
  /** Start again from an empty index (and location table). */
  freshIndex(): void;
  /** Forget a message (recovery logs no record of it). */
  drop(seq: number): void;
}

/**
 * Load the saved index when it can be trusted and read only the records written after it; else
 * rebuild the index from every record (see recoverSegments). Returns the segments on disk, oldest
 * first. The caller saves a new index file when records had to be read (`keeper.unsaved`), so the
 * next start after a crash reads only what follows it.
 */
export async function recoverIndex(h: RecoveryHost): Promise<Segment[]> {
  h.pages.findFiles();
  const read = await h.keeper.read();
  let resume: ResumeAt | null = null;
  if (read === null) h.recovery.reason = h.indexFileOff ? "index file off" : "none saved";
  else if ("reason" in read) h.recovery.reason = read.reason;
  else {
    const at = h.keeper.resumeAt(read.saved);
    for (const seg of at.segs) h.segByOrd.set(seg.ord, seg);
    read.saved.apply(h.index(), at.segs);
    resume = at.resume;
    h.recovery.index = "loaded";
    h.recovery.reason = "";
    h.lost.resumeAfter(h.index().lastSeq);
  }
  const apply = (r: DecodedRecord, seg: Segment, off: number): void => applyRecord(h, r, seg, off);
  let segs = await recoverSegments(h.dir, h.chunkBytes, h.damage, apply, resume);
  const gone = resume === null ? null : goneButHeld(resume, segs, h.index());
  if (gone !== null) {
    // A segment the saved index lists is gone (dropped after it was saved) while messages the
    // records after it did not remove still point into it: the saved index was not the last word.
    h.recovery.index = "rebuilt";
    h.recovery.reason = h.keeper.notUsed(`segment ${gone} is gone while messages in it are held`).reason;
    h.pages.reset();
    h.freshIndex();
    h.segByOrd.clear();
    h.damage.length = 0;
    h.lost.reset();
    h.recovery.recordsRead = 0;
    segs = await recoverSegments(h.dir, h.chunkBytes, h.damage, apply, null);
  }
  h.segByOrd.clear();
  for (const seg of segs) h.segByOrd.set(seg.ord, seg);
  return segs;
}

/** One intact record found on disk, applied to the index. */
function applyRecord(h: RecoveryHost, r: DecodedRecord, seg: Segment, off: number): void {
  h.keeper.unsaved = true;
  h.recovery.recordsRead++;
  // A page brought back while recovering names segments by their first sequence: known ones only.
  if (!h.segByOrd.has(seg.ord)) h.segByOrd.set(seg.ord, seg);
  const index = h.index();
  if (r.type === RecordType.MSG) {
    h.lost.message(r.seq, seg, h.damage);
    if (r.seq > index.lastSeq) {
      index.add(r.seq, r.subject, fileStoredSize(r.subject, r.headers, r.data), r.timeNs);
      h.locs().set(r.seq, seg.ord, off, r.size);
      // A record read here stays (damage only cuts what follows it): chunks whose sequences are
      // all read get their pages now, so a rebuild from the segments holds a few chunks, not all.
      if (h.pages.inMemory > RECOVERY_PAGES_AT) void h.pages.flush(index.lastSeq);
    }
  } else if (r.type === RecordType.DELETE) {
    h.drop(r.seq);
    h.lost.deleted(r.seq);
  } else {
    h.lost.first(r.seq);
    // Everything below r.seq is gone; the last sequence is at least r.seq - 1.
    for (let s = index.firstSeq(); s < r.seq && index.count > 0; s = index.firstSeq()) h.drop(s);
    index.skipTo(r.seq);
  }
}
