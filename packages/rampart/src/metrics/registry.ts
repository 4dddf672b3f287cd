import client from 'prom-client'
import { openMetricsToText } from './exposition.js'
import { METRICS_DEFAULTS, type MetricsOptions, OVERFLOW } from './options.js'
import { FastCounter, FastHistogram } from './series-store.js'

type LabelValues<L extends string> = Readonly<Record<L, string | number>>
/** Argument lists that need labels only when the metric has label names. */
type WithLabels<L extends string, Rest extends unknown[]> = [L] extends [never]
  ? Rest
  : [labels: LabelValues<L>, ...Rest]

interface MetricConfig<L extends string> {
  /** Prometheus name: snake_case, base units, `_total` for counters. */
  name: string
  help: string
  labelNames?: readonly L[]
  /** Overrides the registry's series cap for this metric. */
  seriesCap?: number
}

/** One series of a counter, looked up once (prom-client's `labels()`): for hot paths. */
export interface BoundCounter {
  inc(value?: number): void
}

/** One series of a histogram, looked up once. */
export interface BoundHistogram {
  observe(value: number, exemplar?: Readonly<Record<string, string>>): void
}

export interface CappedCounter<L extends string = never> {
  inc(...args: WithLabels<L, [value?: number]>): void
  /**
   * The series of these labels, to keep and increment without looking it up again. Past the
   * series cap it is the overflow series, and each increment still counts as dropped.
   */
  labels(...args: WithLabels<L, []>): BoundCounter
  /** Creates the series at 0 without counting, so Prometheus' `rate()` sees its first increase. */
  zero(...args: WithLabels<L, []>): void
}

export interface CappedGauge<L extends string = never> {
  set(...args: WithLabels<L, [value: number]>): void
  inc(...args: WithLabels<L, [value?: number]>): void
  dec(...args: WithLabels<L, [value?: number]>): void
}

export interface CappedHistogram<L extends string = never> {
  /**
   * Records a value. The optional exemplar (e.g. `{ trace_id }`) is attached to the bucket and
   * shown to OpenMetrics scrapers, linking a slow bucket to one trace.
   */
  observe(
    ...args: WithLabels<L, [value: number, exemplar?: Readonly<Record<string, string>>]>
  ): void
  /** The series of these labels, to keep and observe into (see `CappedCounter.labels`). */
  labels(...args: WithLabels<L, []>): BoundHistogram
  /** Starts a timer; the returned function observes the elapsed seconds. */
  startTimer(...args: WithLabels<L, []>): () => number
  /** Creates the series (every bucket at 0) without observing anything. */
  zero(...args: WithLabels<L, []>): void
}

/** What `RampartMetrics.describe` tells of a registered metric. */
export interface MetricDescription {
  readonly type: 'counter' | 'gauge' | 'histogram' | 'summary'
  readonly labelNames: readonly string[]
}

interface HistogramConfig<L extends string> extends MetricConfig<L> {
  buckets?: readonly number[]
  /**
   * Extra bucket boundaries for the series of these labels, on top of `buckets` (or undefined
   * for none): a latency SLO's threshold on one route becomes a boundary of that route's
   * series only, so the other routes pay no extra series. Asked once, when a series is created.
   */
  bucketsFor?: (labels: Readonly<Record<NoInfer<L>, string>>) => readonly number[] | undefined
}

/**
 * One app's metrics: a private prom-client `Registry` (never the global one) and factories
 * for counters, gauges and histograms that share a series cap.
 *
 * @example
 * const logins = app.rampart.metrics.counter({ name: 'airlock_login_attempts_total', help: 'Login attempts', labelNames: ['ok'] as const })
 * logins.inc({ ok: 'false' })
 */
export interface RampartMetrics {
  readonly registry: client.Registry
  counter<L extends string = never>(
    config: MetricConfig<L> & { collect?: (this: client.Counter<L>) => void | Promise<void> },
  ): CappedCounter<L>
  gauge<L extends string = never>(
    config: MetricConfig<L> & { collect?: (this: client.Gauge<L>) => void | Promise<void> },
  ): CappedGauge<L>
  histogram<L extends string = never>(config: HistogramConfig<L>): CappedHistogram<L>
  /**
   * The type and label names of a registered metric, or undefined when none has this name: what
   * a config that names metrics (ratio SLOs, dashboard counters) is checked against at start-up.
   */
  describe(name: string): MetricDescription | undefined
  /** The text a scraper gets: Prometheus text 0.0.4, or OpenMetrics 1.0 (with exemplars) when asked. */
  render(openMetrics?: boolean): Promise<{ contentType: string; body: string }>
}

/**
 * Keeps each metric's label sets under a cap. Label values are joined into one key and the
 * prom-client child for that key is cached, so a hot path pays one string join and one Map
 * lookup instead of prom-client's per-call label hashing.
 */
class SeriesGuard<Child> {
  readonly #children = new Map<string, Child>()
  readonly #labelNames: readonly string[]
  readonly #cap: number
  readonly #make: (values: string[]) => Child
  readonly #onDrop: () => void
  #overflow: Child | undefined

  constructor(
    labelNames: readonly string[],
    cap: number,
    make: (values: string[]) => Child,
    onDrop: () => void,
  ) {
    this.#labelNames = labelNames
    this.#cap = cap
    this.#make = make
    this.#onDrop = onDrop
  }

  child(labels: Readonly<Record<string, string | number>> | undefined): Child {
    const child = this.bound(labels)
    if (child !== undefined) return child
    this.#onDrop()
    this.#overflow ??= this.#make(this.#labelNames.map(() => OVERFLOW))
    return this.#overflow
  }

  /** The series of these labels, created if the cap allows; undefined past the cap. */
  bound(labels: Readonly<Record<string, string | number>> | undefined): Child | undefined {
    const names = this.#labelNames
    let key = ''
    for (let i = 0; i < names.length; i++) {
      const v = labels?.[names[i] as string]
      key = i === 0 ? (v === undefined ? '' : `${v}`) : `${key}\u0000${v === undefined ? '' : v}`
    }
    let child = this.#children.get(key)
    if (child !== undefined) return child
    if (this.#children.size >= this.#cap) return undefined
    child = this.#make(
      names.map((n) => {
        const v = labels?.[n]
        return v === undefined ? '' : String(v)
      }),
    )
    this.#children.set(key, child)
    return child
  }
}

function labelObject(names: readonly string[], values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {}
  for (let i = 0; i < names.length; i++) labels[names[i] as string] = values[i] as string
  return labels
}

function splitArgs(
  labelNames: readonly string[],
  args: unknown[],
): [Record<string, string | number> | undefined, unknown[]] {
  if (labelNames.length === 0) return [undefined, args]
  return [args[0] as Record<string, string | number>, args.slice(1)]
}

/** Creates the per-app metrics registry. */
export function createMetrics(options: MetricsOptions = {}): RampartMetrics {
  // One OpenMetrics registry (exemplars need it); the text format is derived from its output,
  // because a counter shared by a text and an OpenMetrics registry gets renamed (exposition.ts).
  const registry = new client.Registry()
  registry.setContentType(
    client.Registry.OPENMETRICS_CONTENT_TYPE as unknown as typeof registry.contentType,
  )
  const registers = [registry]
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels)
  const defaultCap = options.seriesCap ?? METRICS_DEFAULTS.seriesCap
  if (!Number.isInteger(defaultCap) || defaultCap < 1) {
    throw new TypeError(`metrics.seriesCap: expected a whole number ≥ 1, got ${String(defaultCap)}`)
  }
  if (options.defaultMetrics ?? METRICS_DEFAULTS.defaultMetrics) {
    client.collectDefaultMetrics({ register: registry })
  }

  const dropped = new client.Counter({
    name: 'rampart_metric_series_dropped_total',
    help: 'Label sets folded into the __overflow__ series because a metric reached its series cap',
    labelNames: ['metric'],
    registers,
  })
  const droppedChildren = new Map<string, ReturnType<typeof dropped.labels>>()
  const onDrop = (name: string) => () => {
    let c = droppedChildren.get(name)
    if (!c) {
      c = dropped.labels(name)
      droppedChildren.set(name, c)
    }
    c.inc()
  }

  return {
    registry,

    counter<L extends string = never>(
      config: MetricConfig<L> & { collect?: (this: client.Counter<L>) => void | Promise<void> },
    ): CappedCounter<L> {
      const labelNames = config.labelNames ?? []
      if (config.collect) {
        // Values computed at scrape time: prom-client's own counter, nothing on a hot path.
        const metric = new client.Counter<string>({
          name: config.name,
          help: config.help,
          labelNames,
          registers,
          collect: config.collect as (this: client.Counter<string>) => void,
        })
        return {
          inc(...args: unknown[]) {
            const [labels, rest] = splitArgs(labelNames, args)
            metric.inc(labels ?? {}, (rest[0] as number | undefined) ?? 1)
          },
          labels(...args: unknown[]): BoundCounter {
            return metric.labels(splitArgs(labelNames, args)[0] ?? {})
          },
          zero(...args: unknown[]) {
            metric.inc(splitArgs(labelNames, args)[0] ?? {}, 0)
          },
        } as CappedCounter<L>
      }
      const metric = new FastCounter(config.name, config.help, labelNames)
      registry.registerMetric(metric as unknown as client.Metric)
      const guard = new SeriesGuard(
        labelNames,
        config.seriesCap ?? defaultCap,
        (v) => metric.series(labelObject(labelNames, v)),
        onDrop(config.name),
      )
      if (labelNames.length === 0) guard.child(undefined)
      return {
        inc(...args: unknown[]) {
          const [labels, rest] = splitArgs(labelNames, args)
          guard.child(labels).inc((rest[0] as number | undefined) ?? 1)
        },
        labels(...args: unknown[]): BoundCounter {
          const [labels] = splitArgs(labelNames, args)
          return guard.bound(labels) ?? { inc: (value = 1) => guard.child(labels).inc(value) }
        },
        zero(...args: unknown[]) {
          guard.child(splitArgs(labelNames, args)[0])
        },
      } as CappedCounter<L>
    },

    gauge<L extends string = never>(
      config: MetricConfig<L> & { collect?: (this: client.Gauge<L>) => void | Promise<void> },
    ): CappedGauge<L> {
      const labelNames = config.labelNames ?? []
      const metric = new client.Gauge<string>({
        name: config.name,
        help: config.help,
        labelNames,
        registers,
        ...(config.collect
          ? { collect: config.collect as (this: client.Gauge<string>) => void }
          : {}),
      })
      const guard = new SeriesGuard(
        labelNames,
        config.seriesCap ?? defaultCap,
        (v) => metric.labels(...v),
        onDrop(config.name),
      )
      const call = (op: 'set' | 'inc' | 'dec', args: unknown[], fallback: number | undefined) => {
        const [labels, rest] = splitArgs(labelNames, args)
        const value = (rest[0] as number | undefined) ?? fallback
        guard.child(labels)[op](value as number)
      }
      return {
        set: (...args: unknown[]) => call('set', args, undefined),
        inc: (...args: unknown[]) => call('inc', args, 1),
        dec: (...args: unknown[]) => call('dec', args, 1),
      } as CappedGauge<L>
    },

    histogram<L extends string = never>(config: HistogramConfig<L>): CappedHistogram<L> {
      const labelNames = config.labelNames ?? []
      // prom-client's default buckets when none are given.
      const bounds = [
        ...(config.buckets ?? [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]),
      ].sort((a, b) => a - b)
      const metric = new FastHistogram(config.name, config.help, bounds, labelNames)
      registry.registerMetric(metric as unknown as client.Metric)
      const { bucketsFor } = config
      const seriesBounds = (labels: Record<string, string>) => {
        const extra = bucketsFor?.(labels as Record<L, string>)
        if (extra === undefined || extra.length === 0) return bounds
        return [...new Set([...bounds, ...extra])].sort((a, b) => a - b)
      }
      const guard = new SeriesGuard(
        labelNames,
        config.seriesCap ?? defaultCap,
        (v) => {
          const labels = labelObject(labelNames, v)
          return metric.series(labels, seriesBounds(labels))
        },
        onDrop(config.name),
      )
      if (labelNames.length === 0) guard.child(undefined)
      return {
        observe(...args: unknown[]) {
          const [labels, rest] = splitArgs(labelNames, args)
          guard
            .child(labels)
            .observe(rest[0] as number, rest[1] as Record<string, string> | undefined)
        },
        labels(...args: unknown[]): BoundHistogram {
          const [labels] = splitArgs(labelNames, args)
          return (
            guard.bound(labels) ?? {
              observe: (value, exemplar) => guard.child(labels).observe(value, exemplar),
            }
          )
        },
        startTimer(...args: unknown[]) {
          const [labels] = splitArgs(labelNames, args)
          const series = guard.child(labels)
          const start = process.hrtime.bigint()
          return () => {
            const seconds = Number(process.hrtime.bigint() - start) / 1e9
            series.observe(seconds)
            return seconds
          }
        },
        zero(...args: unknown[]) {
          guard.child(splitArgs(labelNames, args)[0])
        },
      } as CappedHistogram<L>
    },

    describe(name) {
      const metric = registry.getSingleMetric(name) as
        | (client.Metric & { type?: string; labelNames?: readonly string[] })
        | undefined
      if (metric === undefined) return undefined
      return {
        type: (metric.type ?? 'counter') as MetricDescription['type'],
        labelNames: metric.labelNames ?? [],
      }
    },

    async render(asOpenMetrics = false) {
      const body = await registry.metrics()
      return asOpenMetrics
        ? { contentType: client.Registry.OPENMETRICS_CONTENT_TYPE, body }
        : { contentType: client.Registry.PROMETHEUS_CONTENT_TYPE, body: openMetricsToText(body) }
    },
  }
}
