import type { Metric } from "prom-client";

/** One series as prom-client's registry prints it. */
export interface MetricValue {
  metricName?: string;
  labels: Record<string, string | number>;
  value: number;
}

/**
 * An object a prom-client registry prints like its own metrics (it calls `get()` when scraped),
 * for counts kept in plain fields: recording them needs no prom-client, which is loaded only on
 * the first scrape.
 */
export function plainMetric(name: string, help: string, type: "counter" | "histogram", values: () => MetricValue[]): Metric {
  // Only name, type and get() are used by Registry.metrics(); the rest of Metric is not needed.
  const m = {
    name,
    help,
    type,
    aggregator: "sum",
    get: () => Promise.resolve({ name, help, type, aggregator: "sum", values: values() }),
  };
  return m as unknown as Metric;
}

/** A histogram without labels in plain fields (bucket counts, sum, count). */
export class PlainHistogram {
  /** Observations per bucket, not cumulative; the last slot is +Inf. */
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bucketsUpper: readonly number[],
  ) {
    this.counts = new Array<number>(bucketsUpper.length + 1).fill(0);
  }

  observe(value: number): void {
    let i = 0;
    while (i < this.bucketsUpper.length && value > (this.bucketsUpper[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += value;
    this.count++;
  }

  /** The histogram as a registry prints it: cumulative `_bucket{le}`, `_sum`, `_count`. */
  metric(): Metric {
    return plainMetric(this.name, this.help, "histogram", () => {
      const out: MetricValue[] = [];
      let cumulative = 0;
      for (let i = 0; i <= this.bucketsUpper.length; i++) {
        cumulative += this.counts[i] as number;
        const le = i < this.bucketsUpper.length ? String(this.bucketsUpper[i]) : "+Inf";
        out.push({ metricName: `${this.name}_bucket`, labels: { le }, value: cumulative });
      }
      out.push({ metricName: `${this.name}_sum`, labels: {}, value: this.sum });
      out.push({ metricName: `${this.name}_count`, labels: {}, value: this.count });
      return out;
    });
  }
}
