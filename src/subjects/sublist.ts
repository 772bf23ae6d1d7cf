import { Limits } from "../protocol/limits.js";

/** What the index stores; the server's subscription objects satisfy it. */
export interface IndexedSub {
  readonly subject: string;
  /** "" when not in a queue group. */
  readonly queue: string;
}

/** Result of a match: plain subscribers and queue groups (one array per group name). */
export interface MatchResult<S extends IndexedSub> {
  plain: S[];
  queues: S[][];
}

interface Level<S extends IndexedSub> {
  nodes: Map<string, Node<S>>;
  pwc: Node<S> | null;
  fwc: Node<S> | null;
}

interface Node<S extends IndexedSub> {
  next: Level<S> | null;
  plain: Set<S>;
  queues: Map<string, Set<S>>;
}

function newLevel<S extends IndexedSub>(): Level<S> {
  return { nodes: new Map(), pwc: null, fwc: null };
}
function newNode<S extends IndexedSub>(): Node<S> {
  return { next: null, plain: new Set(), queues: new Map() };
}

/**
 * Token trie of subscriptions (nats-server `sublist.go`): each level maps literal tokens and keeps
 * dedicated `*` and `>` slots. Results are cached per literal subject in a bounded cache; a
 * generation counter, bumped on every insert and remove, lets callers validate their own caches.
 */
export class Sublist<S extends IndexedSub> {
  private readonly root: Level<S> = newLevel();
  private readonly cache = new Map<string, MatchResult<S>>();
  /** Bumped on every change. */
  generation = 0;
  count = 0;
  matches = 0;
  cacheHits = 0;
  inserts = 0;
  removes = 0;

  insert(sub: S): void {
    const tokens = sub.subject.split(".");
    let level = this.root;
    let node: Node<S> | null = null;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i] as string;
      if (t === "*") {
        node = level.pwc ??= newNode();
      } else if (t === ">") {
        node = level.fwc ??= newNode();
      } else {
        node = level.nodes.get(t) ?? null;
        if (node === null) {
          node = newNode();
          level.nodes.set(t, node);
        }
      }
      if (i < tokens.length - 1) level = node.next ??= newLevel();
    }
    if (node === null) return;
    if (sub.queue === "") {
      node.plain.add(sub);
    } else {
      let group = node.queues.get(sub.queue);
      if (group === undefined) {
        group = new Set();
        node.queues.set(sub.queue, group);
      }
      group.add(sub);
    }
    this.count++;
    this.inserts++;
    this.changed();
  }

  remove(sub: S): boolean {
    const tokens = sub.subject.split(".");
    const path: Array<[Level<S>, string, Node<S>]> = [];
    let level: Level<S> | null = this.root;
    let node: Node<S> | null = null;
    for (let i = 0; i < tokens.length; i++) {
      if (level === null) return false;
      const t = tokens[i] as string;
      node = t === "*" ? level.pwc : t === ">" ? level.fwc : (level.nodes.get(t) ?? null);
      if (node === null) return false;
      path.push([level, t, node]);
      level = node.next;
    }
    if (node === null) return false;
    let removed: boolean;
    if (sub.queue === "") {
      removed = node.plain.delete(sub);
    } else {
      const group = node.queues.get(sub.queue);
      removed = group !== undefined && group.delete(sub);
      if (group !== undefined && group.size === 0) node.queues.delete(sub.queue);
    }
    if (!removed) return false;
    // Prune empty nodes from the leaf up.
    for (let i = path.length - 1; i >= 0; i--) {
      const [lvl, t, n] = path[i] as [Level<S>, string, Node<S>];
      const empty = n.plain.size === 0 && n.queues.size === 0 && (n.next === null || isEmptyLevel(n.next));
      if (!empty) break;
      if (t === "*") lvl.pwc = null;
      else if (t === ">") lvl.fwc = null;
      else lvl.nodes.delete(t);
    }
    this.count--;
    this.removes++;
    this.changed();
    return true;
  }

  /** Subscribers whose subject matches the literal `subject`. The result is shared: do not mutate it. */
  match(subject: string): MatchResult<S> {
    this.matches++;
    const cached = this.cache.get(subject);
    if (cached !== undefined) {
      this.cacheHits++;
      return cached;
    }
    const plain: S[] = [];
    const queueMap = new Map<string, S[]>();
    // nats-server's Sublist.match: a subject with an empty token (`a.`, `.a`, `a..b`) matches no
    // subscription, not even `>`, so a client without pedantic checks publishes it to nobody.
    if (!hasEmptyToken(subject)) matchLevel(this.root, subject.split("."), 0, plain, queueMap);
    const result: MatchResult<S> = { plain, queues: [...queueMap.values()] };
    this.cache.set(subject, result);
    if (this.cache.size > Limits.matchCacheMax) this.sweep();
    return result;
  }

  /** Number of cached match results. */
  get cacheSize(): number {
    return this.cache.size;
  }

  /** Every subscription, for monitoring. */
  all(): S[] {
    const out: S[] = [];
    collect(this.root, out);
    return out;
  }

  private changed(): void {
    this.generation++;
    this.cache.clear();
  }

  private sweep(): void {
    // Drop the oldest entries down to the sweep size (Map iterates in insertion order).
    let drop = this.cache.size - Limits.matchCacheSweep;
    for (const key of this.cache.keys()) {
      if (drop-- <= 0) break;
      this.cache.delete(key);
    }
  }
}

function isEmptyLevel<S extends IndexedSub>(l: Level<S>): boolean {
  return l.nodes.size === 0 && l.pwc === null && l.fwc === null;
}

function addNode<S extends IndexedSub>(n: Node<S>, plain: S[], queues: Map<string, S[]>): void {
  for (const s of n.plain) plain.push(s);
  for (const [name, group] of n.queues) {
    let arr = queues.get(name);
    if (arr === undefined) {
      arr = [];
      queues.set(name, arr);
    }
    for (const s of group) arr.push(s);
  }
}

function matchLevel<S extends IndexedSub>(level: Level<S>, tokens: string[], i: number, plain: S[], queues: Map<string, S[]>): void {
  const last = i === tokens.length - 1;
  if (level.fwc !== null) addNode(level.fwc, plain, queues);
  if (level.pwc !== null) {
    if (last) addNode(level.pwc, plain, queues);
    else if (level.pwc.next !== null) matchLevel(level.pwc.next, tokens, i + 1, plain, queues);
  }
  const n = level.nodes.get(tokens[i] as string);
  if (n !== undefined) {
    if (last) addNode(n, plain, queues);
    else if (n.next !== null) matchLevel(n.next, tokens, i + 1, plain, queues);
  }
}

function collect<S extends IndexedSub>(level: Level<S>, out: S[]): void {
  const visit = (n: Node<S> | null): void => {
    if (n === null) return;
    for (const s of n.plain) out.push(s);
    for (const g of n.queues.values()) for (const s of g) out.push(s);
    if (n.next !== null) collect(n.next, out);
  };
  for (const n of level.nodes.values()) visit(n);
  visit(level.pwc);
  visit(level.fwc);
}

/** Is a token of `subject` empty: the subject itself, or around a leading, trailing or doubled `.`? */
function hasEmptyToken(subject: string): boolean {
  const n = subject.length;
  return n === 0 || subject.charCodeAt(0) === 0x2e || subject.charCodeAt(n - 1) === 0x2e || subject.includes("..");
}
