import type { Registry } from "prom-client";
import { plainMetric, type MetricValue } from "./plain-metric.js";

/** HTTP request duration buckets, in seconds (SSE and long polls land in the top ones). */
export const HTTP_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Counts of one route pattern and method. */
interface RouteStats {
  readonly route: string;
  readonly method: string;
  /** Requests by status. */
  readonly byStatus: Map<number, number>;
  /** Requests per duration bucket (not cumulative; the last slot is +Inf). */
  readonly buckets: number[];
  sumSeconds: number;
  count: number;
}

/**
 * Per-request HTTP counters, kept in plain maps and turned into Prometheus series only when
 * scraped: prom-client's labelled `inc`/`observe` hash and validate the label object on every
 * call (about 1.5 µs a request together), which a publish at tens of thousands a second should not
 * pay. Route patterns (not URLs) and Node's known methods keep the maps bounded.
 */
export class HttpStats {
  private readonly byRoute = new Map<string, Map<string, RouteStats>>();
  /** The series `record` counted last. */
  private last: RouteStats | null = null;

  /** Register `cuebus_http_requests_total` and `cuebus_http_request_duration_seconds` in `registry` (made on the first scrape). */
  register(registry: Registry): void {
    registry.registerMetric(plainMetric("cuebus_http_requests_total", "HTTP requests answered, by route pattern, method and status", "counter", () => this.requestValues()));
    registry.registerMetric(
      plainMetric("cuebus_http_request_duration_seconds", "Time from an HTTP request's arrival until its response closed, by route pattern and method", "histogram", () => this.durationValues()),
    );
  }

  /** Count one answered request. */
  record(route: string, method: string, status: number, seconds: number): void {
    // Requests come in runs on one route (a publisher's stream of POSTs): the last series first.
    let s = this.last;
    if (s === null || s.route !== route || s.method !== method) this.last = s = this.series(route, method);
    s.byStatus.set(status, (s.byStatus.get(status) ?? 0) + 1);
    let i = 0;
    while (i < HTTP_BUCKETS_SECONDS.length && seconds > (HTTP_BUCKETS_SECONDS[i] as number)) i++;
    s.buckets[i] = (s.buckets[i] as number) + 1;
    s.sumSeconds += seconds;
    s.count++;
  }

  private series(route: string, method: string): RouteStats {
    let byMethod = this.byRoute.get(route);
    if (byMethod === undefined) this.byRoute.set(route, (byMethod = new Map()));
    let s = byMethod.get(method);
    if (s === undefined) {
      s = { route, method, byStatus: new Map(), buckets: new Array<number>(HTTP_BUCKETS_SECONDS.length + 1).fill(0), sumSeconds: 0, count: 0 };
      byMethod.set(method, s);
    }
    return s;
  }

  private *all(): Generator<RouteStats> {
    for (const m of this.byRoute.values()) yield* m.values();
  }

  private requestValues(): MetricValue[] {
    const out: MetricValue[] = [];
    for (const s of this.all()) for (const [status, n] of s.byStatus) out.push({ labels: { route: s.route, method: s.method, status: String(status) }, value: n });
    return out;
  }

  private durationValues(): MetricValue[] {
    const name = "cuebus_http_request_duration_seconds";
    const out: MetricValue[] = [];
    for (const s of this.all()) {
      let cumulative = 0;
      for (let i = 0; i <= HTTP_BUCKETS_SECONDS.length; i++) {
        cumulative += s.buckets[i] as number;
        const le = i < HTTP_BUCKETS_SECONDS.length ? String(HTTP_BUCKETS_SECONDS[i]) : "+Inf";
        out.push({ metricName: `${name}_bucket`, labels: { le, route: s.route, method: s.method }, value: cumulative });
      }
      out.push({ metricName: `${name}_sum`, labels: { route: s.route, method: s.method }, value: s.sumSeconds });
      out.push({ metricName: `${name}_count`, labels: { route: s.route, method: s.method }, value: s.count });
    }
    return out;
  }
}
