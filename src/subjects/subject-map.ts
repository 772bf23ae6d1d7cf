/**
 * Subject rewrites applied where a message is published, before it is routed: receivers see, and
 * no-responders is decided on, the rewritten subject (nats-server's account subject mappings, in
 * the two forms JetStream domains need: a literal subject, or a prefix ending in `.>` whose tail
 * is kept). The first entry that matches wins.
 */
export class SubjectMap {
  private readonly exact = new Map<string, string>();
  /** `[source prefix with its trailing dot, destination prefix with its trailing dot]`. */
  private readonly tails: Array<[string, string]> = [];
  /** What every source starts with: most published subjects are ruled out by this one test. */
  private lead: string | null = null;

  /** Add `from` -> `to`: both literal, or both ending in `.>`. */
  add(from: string, to: string): void {
    const fromTail = from.endsWith(".>");
    if (fromTail !== to.endsWith(".>")) throw new Error(`subject mapping ${from} -> ${to}: both or neither must end in ">"`);
    if (fromTail) this.tails.push([from.slice(0, -1), to.slice(0, -1)]);
    else this.exact.set(from, to);
    const src = fromTail ? from.slice(0, -1) : from;
    if (this.lead === null) this.lead = src;
    else {
      let i = 0;
      while (i < this.lead.length && i < src.length && this.lead[i] === src[i]) i++;
      this.lead = this.lead.slice(0, i);
    }
  }

  /** The subject to route `subject` on: itself when no entry matches. */
  map(subject: string): string {
    if (this.lead === null || !subject.startsWith(this.lead)) return subject;
    const hit = this.exact.get(subject);
    if (hit !== undefined) return hit;
    for (let i = 0; i < this.tails.length; i++) {
      const [src, dst] = this.tails[i] as [string, string];
      // `a.>` needs at least one token after `a.`.
      if (subject.length > src.length && subject.startsWith(src)) return dst + subject.slice(src.length);
    }
    return subject;
  }
}
