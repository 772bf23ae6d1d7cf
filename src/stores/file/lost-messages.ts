import type { LostData } from "../types.js";
import type { Segment, StoreDamage } from "./segment-io.js";
import type { StoreLog } from "./write-outage.js";

/** Lost sequences a store lists in `state.lost` (the bytes lost are counted past it). */
export const LOST_SEQS_MAX = 10_000;

/**
 * The messages a file store lost to damage since it was opened: what `state.lost` reports, each
 * told once in a warning line naming the store, the segment and the sequences. While records are
 * read at start it also finds them: every sequence is first stored as a message record, in order,
 * so sequences skipped after damage (no first-sequence record moving past them) were lost to it.
 */
export class LostMessages {
  private msgs: number[] = [];
  private bytes = 0;
  /** Recovery: the sequence the next message record should have (0: not known yet). */
  private nextSeq = 0;
  /** Recovery: damage entries already accounted for. */
  private damageSeen = 0;

  constructor(
    private readonly dir: string,
    private readonly log: StoreLog,
  ) {}

  /** Start again (the index is being rebuilt from every record). */
  reset(): void {
    this.msgs = [];
    this.bytes = 0;
    this.nextSeq = 0;
    this.damageSeen = 0;
  }

  /** Recovery resumes after a saved index whose last sequence is `lastSeq`. */
  resumeAfter(lastSeq: number): void {
    this.nextSeq = lastSeq + 1;
  }

  /** Recovery met an intact message record (`damage`: what it found so far). */
  message(seq: number, seg: Segment, damage: readonly StoreDamage[]): void {
    let bytes = 0;
    for (let i = this.damageSeen; i < damage.length; i++) {
      const d = damage[i] as StoreDamage;
      if (d.kind === "corrupt") bytes += d.bytes;
    }
    this.damageSeen = damage.length;
    if (this.nextSeq > 0 && seq > this.nextSeq && bytes > 0) this.note(this.nextSeq, seq - 1, bytes, seg, -1);
    if (seq >= this.nextSeq) this.nextSeq = seq + 1;
  }

  /** Recovery met a delete record: a message deleted later was not lost. */
  deleted(seq: number): void {
    const i = this.msgs.indexOf(seq);
    if (i !== -1) this.msgs.splice(i, 1);
  }

  /** Recovery met a first-sequence record: nothing below `seq` is held, lost or not. */
  first(seq: number): void {
    if (seq > this.nextSeq) this.nextSeq = seq;
    this.msgs = this.msgs.filter((s) => s >= seq);
  }

  /** Messages `from`..`to` (`bytes` of records in `seg`, at `offset` when known, else -1) are lost. */
  note(from: number, to: number, bytes: number, seg: Segment, offset: number): void {
    for (let s = from; s <= to && this.msgs.length < LOST_SEQS_MAX; s++) this.msgs.push(s);
    this.bytes += bytes;
    const name = seg.path.slice(this.dir.length + 1);
    const where = offset >= 0 ? ` at offset ${offset}` : "";
    const what = from === to ? `message ${from}` : `messages ${from}-${to}`;
    this.log(`JetStream store ${this.dir}: ${what} lost: segment ${name}${where} is damaged (${bytes} bytes); not served (state.lost)`);
  }

  /** What `state.lost` reports; undefined when nothing was lost. */
  report(): LostData | undefined {
    return this.msgs.length > 0 || this.bytes > 0 ? { msgs: [...this.msgs], bytes: this.bytes } : undefined;
  }
}
