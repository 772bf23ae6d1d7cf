import { lookup as lookupCb, type LookupAddress } from "node:dns";
import { lookup } from "node:dns/promises";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { HttpError } from "../http-util.js";

/** Most entries an allow-list may have. */
export const MAX_ALLOW_ENTRIES = 1024;
/** Longest a host-name lookup at registration may take. */
export const ALLOW_LOOKUP_TIMEOUT_MS = 5000;

/**
 * Where webhook targets may point: host names (`hooks.example.com`, or `*.example.com` for any
 * name under it), IP addresses and CIDR ranges (`10.0.0.0/8`, `fd00::/8`). With no list every
 * host is allowed (loopback and private addresses included: that is where services live). A
 * name that matches no name entry is allowed when every address it resolves to is in an IP entry.
 */
export class TargetAllowList {
  private readonly names = new Set<string>();
  private readonly suffixes: string[] = [];
  private readonly ips = new BlockList();
  private hasIps = false;
  readonly open: boolean;

  /** Throws an Error naming the bad entry (a config error: the server does not start). */
  constructor(entries: string[] | undefined) {
    this.open = entries === undefined;
    if (entries === undefined) return;
    if (entries.length > MAX_ALLOW_ENTRIES) throw new Error(`webhook allow-list: more than ${MAX_ALLOW_ENTRIES} entries`);
    for (const raw of entries) {
      const e = raw.trim().toLowerCase();
      const slash = e.indexOf("/");
      if (slash > 0) {
        const addr = e.slice(0, slash);
        const bits = Number(e.slice(slash + 1));
        const fam = isIP(addr);
        if (fam === 0 || !Number.isInteger(bits) || bits < 0 || bits > (fam === 4 ? 32 : 128)) throw new Error(`webhook allow-list: bad CIDR "${raw}"`);
        this.ips.addSubnet(addr, bits, fam === 4 ? "ipv4" : "ipv6");
        this.hasIps = true;
      } else if (isIP(unbracket(e)) !== 0) {
        const a = unbracket(e);
        this.ips.addAddress(a, isIP(a) === 4 ? "ipv4" : "ipv6");
        this.hasIps = true;
      } else if (e.startsWith("*.") && /^[a-z0-9.-]+$/.test(e.slice(2))) {
        this.suffixes.push(e.slice(1));
      } else if (/^[a-z0-9.-]+$/.test(e)) {
        this.names.add(e.replace(/\.$/, ""));
      } else throw new Error(`webhook allow-list: "${raw}" is not a host name, IP address or CIDR range`);
    }
  }

  /** Is this address in an IP entry? */
  private ipAllowed(addr: string): boolean {
    const fam = isIP(addr);
    return this.hasIps && fam !== 0 && this.ips.check(addr, fam === 4 ? "ipv4" : "ipv6");
  }

  /** Is this host allowed by a name entry (trusted whatever it resolves to)? */
  private nameAllowed(host: string): boolean {
    return this.names.has(host) || this.suffixes.some((s) => host.endsWith(s));
  }

  /**
   * The `lookup` of the delivery agents: a host that only IP entries allow is checked again every
   * time a connection is made, against the addresses it resolves to then, so a name that passed at
   * registration cannot later be pointed elsewhere (DNS rebinding). A refused connection fails the
   * delivery like any other (retried, then dead-lettered). Unused when the list is open.
   */
  readonly connectLookup: LookupFunction = (hostname, options, callback) => {
    const host = unbracket(hostname.toLowerCase()).replace(/\.$/, "");
    if (this.open || this.nameAllowed(host)) {
      lookupCb(hostname, options, callback);
      return;
    }
    lookupCb(hostname, { ...options, all: true }, (err, addrs: LookupAddress[]) => {
      if (err !== null) return callback(err, "", 0);
      const out = addrs.find((a) => !this.ipAllowed(a.address));
      const first = addrs[0];
      if (first === undefined || out !== undefined) {
        const e: NodeJS.ErrnoException = new Error(`webhook target ${host} resolves to ${out?.address ?? "no address"}, outside the allow-list`);
        e.code = "EACCES";
        return callback(e, "", 0);
      }
      if (options.all === true) callback(null, addrs);
      else callback(null, first.address, first.family);
    });
  };

  /** 403 unless `url`'s host is allowed (names are resolved when only IP entries could allow them). */
  async check(url: URL): Promise<void> {
    if (this.open) return;
    const host = unbracket(url.hostname.toLowerCase()).replace(/\.$/, "");
    const refuse = (why: string): HttpError => new HttpError(403, `webhook target ${host} is not in the allow-list${why}`);
    if (isIP(host) !== 0) {
      if (!this.ipAllowed(host)) throw refuse("");
      return;
    }
    if (this.nameAllowed(host)) return;
    if (!this.hasIps) throw refuse("");
    let addrs: Array<{ address: string }>;
    try {
      addrs = await withTimeout(lookup(host, { all: true }), ALLOW_LOOKUP_TIMEOUT_MS);
    } catch (err) {
      // Not allowed by name, and no address to allow it by: refused the same way.
      throw refuse(` (it does not resolve: ${err instanceof Error ? err.message : String(err)})`);
    }
    const out = addrs.find((a) => !this.ipAllowed(a.address));
    if (addrs.length === 0 || out !== undefined) throw refuse(out === undefined ? "" : ` (it resolves to ${out.address})`);
  }
}

function unbracket(h: string): string {
  return h.startsWith("[") && h.endsWith("]") ? h.slice(1, -1) : h;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`lookup took longer than ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
