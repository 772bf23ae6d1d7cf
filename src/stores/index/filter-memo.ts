import { subjectMatches } from "../../subjects/validate.js";
import type { SubjectTable } from "./subject-table.js";

/** Whether `subject` is taken in by `filter` ("" and ">" take in everything). */
export const matchesFilter = (filter: string, subject: string): boolean =>
  filter === "" || filter === ">" || filter === subject || subjectMatches(filter, subject);

/** A filter naming one subject (no wildcard token). */
export const isLiteral = (filter: string): boolean => filter !== "" && !/(^|\.)[*>](\.|$)/.test(filter);

/** Wildcard filters whose answers an index remembers (consumers' filters, typically few). */
export const FILTERS_REMEMBERED = 16;

/** A remembered wildcard filter: per subject id, 0 not yet known, 1 matches, 2 does not. */
export interface FilterMemo {
  readonly filter: string;
  ids: Uint8Array;
}

/**
 * What an index remembers about the wildcard filters it is asked about, so a scan or a count tests
 * each subject against a filter once rather than once per message: per filter, which subject ids
 * match (FilterMemo), and whether every subject held matches (a KV watcher's `$KV.b.>`: then
 * counted by sequence, not over every key). Kept for FILTERS_REMEMBERED filters; kept true as
 * subjects arrive and forgotten as subjects go.
 */
export class FilterMemory {
  private readonly coversAll = new Map<string, boolean>();
  private readonly memos = new Map<string, FilterMemo>();

  constructor(private readonly subjects: SubjectTable) {}

  /** The memo for `filter` (made, and the oldest forgotten, as needed). */
  memo(filter: string): FilterMemo {
    let m = this.memos.get(filter);
    if (m === undefined) {
      if (this.memos.size >= FILTERS_REMEMBERED) this.memos.clear();
      m = { filter, ids: new Uint8Array(64) };
      this.memos.set(filter, m);
    }
    return m;
  }

  /** Does subject `id` match the memo's filter? (Tested once, then remembered.) */
  matchId(m: FilterMemo, id: number): boolean {
    if (id >= m.ids.length) {
      let cap = m.ids.length * 2;
      while (cap <= id) cap *= 2;
      const ids = new Uint8Array(cap);
      ids.set(m.ids);
      m.ids = ids;
    }
    let st = m.ids[id] as number;
    if (st === 0) {
      st = matchesFilter(m.filter, this.subjects.name(id)) ? 1 : 2;
      m.ids[id] = st;
    }
    return st === 1;
  }

  /** Does every subject held match `filter`? */
  matchesAll(filter: string): boolean {
    let all = this.coversAll.get(filter);
    if (all === undefined) {
      all = true;
      for (const [subject] of this.subjects.entries()) {
        if (!matchesFilter(filter, subject)) {
          all = false;
          break;
        }
      }
      if (this.coversAll.size >= FILTERS_REMEMBERED) this.coversAll.clear();
      this.coversAll.set(filter, all);
    }
    return all;
  }

  /** A subject is held for the first time. */
  subjectCreated(subject: string): void {
    for (const [f, all] of this.coversAll) if (all && !matchesFilter(f, subject)) this.coversAll.set(f, false);
  }

  /** Subject `id`'s last message went (the id may be reused for another subject). */
  subjectFreed(id: number): void {
    for (const [f, all] of this.coversAll) if (!all) this.coversAll.delete(f);
    for (const m of this.memos.values()) if (id < m.ids.length) m.ids[id] = 0;
  }
}
