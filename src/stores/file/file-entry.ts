import type { StoredMsg } from "../types.js";
import type { Segment } from "./segment-io.js";

const EMPTY = Buffer.alloc(0);

/**
 * What the store keeps in memory for one message: where its record is, not its payload. The
 * record itself is kept (`rec`) until it is written and then only while it is in the tail cache.
 * `headers`/`data` are always empty (entries are never returned, `materialize` reads the record),
 * so they are getters on the prototype rather than two more fields in each of millions of entries.
 */
export class FileEntry implements StoredMsg {
  constructor(
    readonly seq: number,
    readonly subject: string,
    readonly timeNs: bigint,
    readonly size: number,
    public seg: Segment | null,
    public off: number,
    readonly len: number,
    public rec: Buffer | null,
  ) {}

  get headers(): null {
    return null;
  }

  get data(): Buffer {
    return EMPTY;
  }
}
