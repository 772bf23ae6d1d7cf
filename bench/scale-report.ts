/**
 * Pure helpers of the scale bench (`bench/scale.ts`): counts from the environment, a seeded
 * random sequence both servers share, and the table of both servers' figures, ratio and target.
 */

/** Suffixes a count may carry: 200k, 10M. */
const SUFFIXES: Record<string, number> = { k: 1e3, m: 1e6 };

/**
 * A count as people write it: `10000000`, `10_000_000`, `10,000,000`, `1e7`, `200k`, `10M`.
 * Undefined or empty gives `fallback`; anything else that is not a whole number >= 0 throws,
 * naming the variable, so a typo does not run a 10-minute bench at the wrong size.
 */
export function parseCount(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === "") return fallback;
  const m = /^([0-9][0-9_,]*(?:\.[0-9]+)?(?:e[0-9]+)?)([km])?$/i.exec(value.trim());
  const n = m === null ? Number.NaN : Number((m[1] as string).replace(/[_,]/g, "")) * (m[2] === undefined ? 1 : (SUFFIXES[m[2].toLowerCase()] as number));
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name}=${value}: not a whole count (write 10000000, 10_000_000, 1e7 or 10M)`);
  return n;
}

/** Numbers in [0, 1) from a 32-bit seed (mulberry32): the same direct-get sequences for both servers. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** What a row's figures are, for printing them. */
export type Unit = "bytes" | "ms" | "msgs/s";

/** One measure for both servers. `perItem` (messages or keys) adds bytes per item to a bytes figure. */
export interface ScaleRow {
  measure: string;
  unit: Unit;
  nats: number;
  cuebus: number;
  perItem?: number;
  /** The target as the issue words it, and whether cuebus meets it; none for context rows. */
  target?: { text: string; met: boolean };
}

const MB = 1e6;

/** A figure with its unit: 18.2 MB (1.8 B/msg), 1,234 ms, 150,000 msgs/s. */
export function formatFigure(row: ScaleRow, value: number): string {
  if (!Number.isFinite(value)) return "-";
  if (row.unit === "bytes") {
    const mb = `${(value / MB).toLocaleString("en-US", { maximumFractionDigits: 1 })} MB`;
    return row.perItem === undefined || row.perItem === 0 ? mb : `${mb} (${(value / row.perItem).toFixed(1)} B each)`;
  }
  return `${Math.round(value).toLocaleString("en-US")} ${row.unit}`;
}

/** cuebus / nats-server, two decimals; "-" when either side is missing or nats-server's is 0. */
export function formatRatio(row: ScaleRow): string {
  if (!Number.isFinite(row.nats) || !Number.isFinite(row.cuebus) || row.nats === 0) return "-";
  return `${(row.cuebus / row.nats).toFixed(2)}x`;
}

/** The rows as a Markdown table: measure, both servers, the ratio, the target and whether it is met. */
export function markdownTable(rows: ScaleRow[]): string {
  const lines = ["| measure | nats-server | cuebus | cuebus / nats-server | target |", "|---|---|---|---|---|"];
  for (const r of rows) {
    const target = r.target === undefined ? "-" : `${r.target.text}: ${r.target.met ? "met" : "MISSED"}`;
    lines.push(`| ${r.measure} | ${formatFigure(r, r.nats)} | ${formatFigure(r, r.cuebus)} | ${formatRatio(r)} | ${target} |`);
  }
  return lines.join("\n");
}

/** 10000000 -> "10,000,000", for measure names. */
export function count(n: number): string {
  return n.toLocaleString("en-US");
}
