/** Options of the per-app metrics registry. */
export interface MetricsOptions {
  /**
   * Most label sets one metric may hold; past it, new label sets fold into one series whose
   * labels are all `__overflow__`, counted by `rampart_metric_series_dropped_total{metric}`.
   * Default: 1000.
   */
  seriesCap?: number
  /** Collect prom-client's default `process_*` / `nodejs_*` metrics. Default: true. */
  defaultMetrics?: boolean
  /** Labels added to every series (e.g. `{ service: 'orders' }`). Default: none. */
  defaultLabels?: Record<string, string>
}

export const METRICS_DEFAULTS = {
  seriesCap: 1000,
  defaultMetrics: true,
} as const

/** The label value every label of the overflow series carries. */
export const OVERFLOW = '__overflow__'
