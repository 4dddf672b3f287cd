import { type Context, context, TraceFlags } from '@opentelemetry/api'
import { type ExportResult, ExportResultCode, suppressTracing } from '@opentelemetry/core'
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base'
import type { DropReason, SpanCounts } from './types.js'

/** How long a flush (at shutdown, or asked for) may wait for the collector. */
export const FLUSH_BUDGET_MS = 5000

export interface BatchSettings {
  maxQueueSize: number
  maxExportBatchSize: number
  scheduledDelayMillis: number
  exportTimeoutMillis: number
}

/** The SDK's defaults, overridden by the standard `OTEL_BSP_*` variables. */
export function batchSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): BatchSettings {
  const num = (name: string, fallback: number, min: number): number => {
    const raw = env[name]
    if (raw === undefined || raw.trim() === '') return fallback
    const n = Number(raw)
    return Number.isInteger(n) && n >= min ? n : fallback
  }
  const maxQueueSize = num('OTEL_BSP_MAX_QUEUE_SIZE', 2048, 1)
  return {
    maxQueueSize,
    maxExportBatchSize: Math.min(num('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512, 1), maxQueueSize),
    scheduledDelayMillis: num('OTEL_BSP_SCHEDULE_DELAY', 5000, 0),
    exportTimeoutMillis: num('OTEL_BSP_EXPORT_TIMEOUT', 30000, 1),
  }
}

/**
 * A batch span processor with a bounded queue that accounts for every span it is given:
 * each one ends up counted exactly once, as exported or as dropped with a reason.
 *
 * Written instead of using the SDK's `BatchSpanProcessor` because that one drops spans when
 * its queue is full and keeps the count in a private field: a service cannot tell from its
 * metrics that it is losing traces (the peer setup in bench/tracing.ts silently drops a third
 * of its spans under load). See ADR 0009 (docs/adr/0009-tracing-pipeline.md).
 */
export class CountingBatchProcessor implements SpanProcessor {
  readonly #exporter: SpanExporter
  readonly #settings: BatchSettings
  readonly #counts: SpanCounts
  readonly #onExportFailure: (error: unknown) => void
  #queue: ReadableSpan[] = []
  #timer: NodeJS.Timeout | undefined
  #exporting: Promise<void> | undefined
  #shutdown = false

  constructor(
    exporter: SpanExporter,
    settings: BatchSettings,
    counts: SpanCounts,
    onExportFailure: (error: unknown) => void,
  ) {
    this.#exporter = exporter
    this.#settings = settings
    this.#counts = counts
    this.#onExportFailure = onExportFailure
  }

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return
    if (this.#shutdown) {
      this.#drop('shutdown', 1)
      return
    }
    if (this.#queue.length >= this.#settings.maxQueueSize) {
      this.#drop('queue_full', 1)
      return
    }
    this.#queue.push(span)
    if (this.#queue.length >= this.#settings.maxExportBatchSize) void this.#drain()
    else this.#schedule()
  }

  /**
   * Exports everything queued, then resolves; gives up after `budgetMs` (a collector that is
   * down must not hold a shutdown for minutes), counting what is still queued as dropped.
   */
  async forceFlush(budgetMs = FLUSH_BUDGET_MS): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const outOfTime = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), budgetMs)
      timer.unref()
    })
    const result = await Promise.race([this.#flushAll(), outOfTime])
    clearTimeout(timer)
    if (result === 'late') {
      this.#drop('shutdown', this.#queue.length)
      this.#queue = []
    }
  }

  async #flushAll(): Promise<void> {
    this.#clearTimer()
    // A drain already running stops once the queue is below one batch; go on until empty.
    do {
      if (this.#exporting) await this.#exporting
      else if (this.#queue.length > 0) await this.#drain(true)
    } while (this.#exporting !== undefined || this.#queue.length > 0)
    await this.#exporter.forceFlush?.()
  }

  async shutdown(): Promise<void> {
    if (this.#shutdown) return
    this.#shutdown = true
    await this.forceFlush()
    // The exporter may still wait on a request to a dead collector: do not wait for it long.
    await Promise.race([
      this.#exporter.shutdown(),
      new Promise<void>((resolve) => setTimeout(resolve, 1000).unref()),
    ])
  }

  #drop(reason: DropReason, n: number): void {
    this.#counts.dropped[reason] += n
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#exporting !== undefined) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      void this.#drain(true)
    }, this.#settings.scheduledDelayMillis)
    this.#timer.unref()
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /**
   * Exports batches one at a time: full batches while the queue holds one, and one partial
   * batch when `all` (timer or flush). Returns the running drain if there is one.
   */
  #drain(all = false): Promise<void> {
    if (this.#exporting) return this.#exporting
    this.#clearTimer()
    const run = async () => {
      const { maxExportBatchSize } = this.#settings
      while (this.#queue.length >= maxExportBatchSize || (all && this.#queue.length > 0)) {
        const batch = this.#queue.splice(0, maxExportBatchSize)
        await this.#exportBatch(batch)
      }
    }
    this.#exporting = run().finally(() => {
      this.#exporting = undefined
      if (this.#queue.length > 0) this.#schedule()
    })
    return this.#exporting
  }

  #exportBatch(batch: ReadableSpan[]): Promise<void> {
    return new Promise((resolve) => {
      let settled = false
      const timer = setTimeout(() => {
        settled = true
        this.#drop('export_timeout', batch.length)
        this.#onExportFailure(new Error('export timed out'))
        resolve()
      }, this.#settings.exportTimeoutMillis)
      const done = (result: ExportResult) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        if (result.code === ExportResultCode.SUCCESS) this.#counts.exported += batch.length
        else {
          this.#drop(isTimeout(result.error) ? 'export_timeout' : 'export_failed', batch.length)
          this.#onExportFailure(result.error)
        }
        resolve()
      }
      // The exporter's own HTTP/gRPC calls must not be traced (that would feed on itself).
      context.with(suppressTracing(context.active()), () => {
        try {
          this.#exporter.export(batch, done)
        } catch (err) {
          done({ code: ExportResultCode.FAILED, error: err as Error })
        }
      })
    })
  }
}

/** gRPC's status code for a call past its deadline. */
const GRPC_DEADLINE_EXCEEDED = 4

/**
 * True when the exporter gave up because its own timeout (`OTEL_EXPORTER_OTLP_TIMEOUT`) passed:
 * the OTLP/HTTP exporters fail with "Request timed out", the gRPC one with DEADLINE_EXCEEDED.
 * Such spans are dropped for a timeout, like those our own export timer gives up on.
 */
export function isTimeout(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const { code, name, message } = error as { code?: unknown; name?: unknown; message?: unknown }
  return (
    code === GRPC_DEADLINE_EXCEEDED ||
    code === 'ETIMEDOUT' ||
    name === 'TimeoutError' ||
    (typeof message === 'string' && /timed out|deadline exceeded/i.test(message))
  )
}
