/** Subjects a table makes room for at first; its arrays double as subjects arrive. */
const INITIAL_SUBJECTS = 16;

/**
 * The subjects a stream holds, each interned once with a small id and, per id, how many messages
 * it has and its first and last sequence: one entry per *subject*, never one per message. An id
 * whose last message goes is freed and reused by the next new subject.
 */
export class SubjectTable {
  private readonly ids = new Map<string, number>();
  private names: string[] = [];
  private counts = new Float64Array(INITIAL_SUBJECTS);
  private firsts = new Float64Array(INITIAL_SUBJECTS);
  private lasts = new Float64Array(INITIAL_SUBJECTS);
  private free: number[] = [];
  /** Whether the last `add` interned a subject not held before. */
  created = false;

  /** Subjects held (with at least one message). */
  get size(): number {
    return this.ids.size;
  }

  /** The id of a subject held, or -1. */
  idOf(subject: string): number {
    return this.ids.get(subject) ?? -1;
  }

  /** The interned string of an id (a stored message shares it rather than keeping its own). */
  name(id: number): string {
    return this.names[id] as string;
  }

  count(id: number): number {
    return this.counts[id] as number;
  }

  first(id: number): number {
    return this.firsts[id] as number;
  }

  last(id: number): number {
    return this.lasts[id] as number;
  }

  setFirst(id: number, seq: number): void {
    this.firsts[id] = seq;
  }

  setLast(id: number, seq: number): void {
    this.lasts[id] = seq;
  }

  /** One more message on `subject` at `seq` (anywhere: above the last, or put back below it); its id. */
  add(subject: string, seq: number): number {
    let id = this.ids.get(subject);
    this.created = id === undefined;
    if (id === undefined) {
      id = this.free.pop() ?? this.names.length;
      if (id === this.names.length) this.names.push(subject);
      else this.names[id] = subject;
      if (id >= this.counts.length) this.grow(id + 1);
      this.ids.set(subject, id);
      this.counts[id] = 1;
      this.firsts[id] = seq;
      this.lasts[id] = seq;
      return id;
    }
    this.counts[id] = (this.counts[id] as number) + 1;
    if (seq < (this.firsts[id] as number)) this.firsts[id] = seq;
    if (seq > (this.lasts[id] as number)) this.lasts[id] = seq;
    return id;
  }

  /** One message fewer on `id`; true when that was its last (the id is then free). */
  remove(id: number): boolean {
    const n = (this.counts[id] as number) - 1;
    this.counts[id] = n;
    if (n > 0) return false;
    this.ids.delete(this.names[id] as string);
    this.names[id] = "";
    this.free.push(id);
    return true;
  }

  /** Put back a subject read from an index file under its saved id (then `restored`). */
  restore(id: number, subject: string, count: number, first: number, last: number): void {
    if (id >= this.counts.length) this.grow(id + 1);
    while (this.names.length <= id) this.names.push("");
    this.names[id] = subject;
    this.ids.set(subject, id);
    this.counts[id] = count;
    this.firsts[id] = first;
    this.lasts[id] = last;
  }

  /** After every `restore`: the ids between those restored are free. */
  restored(): void {
    this.free = [];
    for (let id = this.names.length - 1; id >= 0; id--) if (this.names[id] === "") this.free.push(id);
  }

  /** Every subject held and its id. */
  entries(): IterableIterator<[string, number]> {
    return this.ids.entries();
  }

  private grow(min: number): void {
    let cap = this.counts.length * 2;
    while (cap < min) cap *= 2;
    const grown = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    this.counts = grown(this.counts);
    this.firsts = grown(this.firsts);
    this.lasts = grown(this.lasts);
  }
}
