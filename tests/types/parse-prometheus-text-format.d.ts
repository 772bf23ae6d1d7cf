/** The parse-prometheus-text-format package ships no types: what the tests use of it. */
declare module "parse-prometheus-text-format" {
  /** One series: a plain value, or a histogram/summary's buckets/quantiles with count and sum. */
  export interface PrometheusSample {
    labels?: Record<string, string>;
    value?: string;
    buckets?: Record<string, string>;
    quantiles?: Record<string, string>;
    count?: string;
    sum?: string;
  }
  /** One metric family, as the text's `# HELP` / `# TYPE` lines and samples describe it. */
  export interface PrometheusFamily {
    name: string;
    help: string;
    type: "COUNTER" | "GAUGE" | "HISTOGRAM" | "SUMMARY" | "UNTYPED";
    metrics: PrometheusSample[];
  }
  /** Parse Prometheus text exposition format. */
  export default function parsePrometheusTextFormat(text: string): PrometheusFamily[];
}
