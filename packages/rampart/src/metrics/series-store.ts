/**
 * Counters and histograms whose hot path is a field increment on a cached series object.
 *
 * prom-client validates and re-hashes the label set on every `inc`/`observe`, even through a
 * bound child (about 1.1 µs and 1.4 µs a call here, 2.5 µs per request for the RED metrics).
 * These keep one object per series (found by the caller's cache, see `SeriesGuard`) and hand
 * prom-client the same value records its own metrics produce, at scrape time only: prom-client
 * still formats both exposition formats, exemplars included, so the output is byte-identical.
 */

type Labels = Record<string, string>

interface Sample {
  labels: Labels
  sharedLabels?: Labels
  value: number
  metricName?: string
  exemplar?: { labelSet: Readonly<Record<string, string>>; value: number; timestamp: number }
}

interface MetricData {
  name: string
  help: string
  type: 'counter' | 'histogram'
  aggregator: 'sum'
  values: Sample[]
}

/** What a prom-client `Registry` needs of a metric: `registerMetric(metric)` then `get()` at scrape. */
export interface ScrapedMetric {
  name: string
  help: string
  type: 'counter' | 'histogram'
  aggregator: 'sum'
  get(): Promise<MetricData>
  reset(): void
}

export class CounterSeries {
  value = 0
  constructor(readonly labels: Labels) {}
  inc(by = 1): void {
    if (!(by >= 0) || !Number.isFinite(by))
      throw new TypeError(`counter increment must be a finite number ≥ 0, got ${String(by)}`)
    this.value += by
  }
}

export class FastCounter implements ScrapedMetric {
  readonly type = 'counter'
  readonly aggregator = 'sum'
  readonly #series: CounterSeries[] = []
  constructor(
    public name: string,
    readonly help: string,
    readonly labelNames: readonly string[] = [],
  ) {}

  series(labels: Labels): CounterSeries {
    const s = new CounterSeries(labels)
    this.#series.push(s)
    return s
  }

  async get(): Promise<MetricData> {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.#series.map((s) => ({ labels: s.labels, value: s.value })),
    }
  }

  reset(): void {
    for (const s of this.#series) s.value = 0
  }
}

export class HistogramSeries {
  /** Observations per bucket (not cumulative); the last slot is above every bound. */
  readonly counts: number[]
  /** Latest exemplar per bucket, like prom-client (one per bucket, newest wins). */
  readonly exemplars: Array<Sample['exemplar']>
  sum = 0
  count = 0
  constructor(
    readonly labels: Labels,
    readonly bounds: readonly number[],
  ) {
    this.counts = new Array<number>(bounds.length + 1).fill(0)
    this.exemplars = new Array(bounds.length + 1)
  }

  observe(value: number, exemplar?: Readonly<Record<string, string>>): void {
    if (!Number.isFinite(value)) throw new TypeError(`histogram value must be finite, got ${value}`)
    const { bounds } = this
    let i = 0
    while (i < bounds.length && value > (bounds[i] as number)) i++
    this.counts[i] = (this.counts[i] as number) + 1
    this.sum += value
    this.count++
    if (exemplar !== undefined)
      this.exemplars[i] = { labelSet: exemplar, value, timestamp: Date.now() / 1000 }
  }
}

export class FastHistogram implements ScrapedMetric {
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  readonly #series: HistogramSeries[] = []
  constructor(
    public name: string,
    readonly help: string,
    readonly bounds: readonly number[],
    readonly labelNames: readonly string[] = [],
  ) {}

  /** A new series; `bounds` (ascending) replaces the metric's own for this series only. */
  series(labels: Labels, bounds: readonly number[] = this.bounds): HistogramSeries {
    const s = new HistogramSeries(labels, bounds)
    this.#series.push(s)
    return s
  }

  async get(): Promise<MetricData> {
    const bucket = `${this.name}_bucket`
    const values: Sample[] = []
    for (const s of this.#series) {
      const { bounds } = s
      let acc = 0
      for (let i = 0; i < bounds.length; i++) {
        acc += s.counts[i] as number
        values.push(sample({ le: String(bounds[i]) }, acc, bucket, s.labels, s.exemplars[i]))
      }
      values.push(sample({ le: '+Inf' }, s.count, bucket, s.labels, s.exemplars[bounds.length]))
      values.push(sample({}, s.sum, `${this.name}_sum`, s.labels))
      values.push(sample({}, s.count, `${this.name}_count`, s.labels))
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    }
  }

  reset(): void {
    for (const s of this.#series) {
      s.counts.fill(0)
      s.exemplars.fill(undefined)
      s.sum = 0
      s.count = 0
    }
  }
}

function sample(
  labels: Labels,
  value: number,
  metricName: string,
  sharedLabels: Labels,
  exemplar?: Sample['exemplar'],
): Sample {
  return exemplar === undefined
    ? { labels, sharedLabels, value, metricName }
    : { labels, sharedLabels, value, metricName, exemplar }
}
