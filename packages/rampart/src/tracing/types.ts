/**
 * Framework- and SDK-free types of the tracing capability. Nothing here imports OpenTelemetry,
 * so code that only names these types loads no OpenTelemetry module.
 */
import type { FrameReader, RequestContext } from '../context/context.js'

export type SpanAttributeValue = string | number | boolean
export type SpanAttributes = Readonly<Record<string, SpanAttributeValue | undefined>>

/** The handle `withSpan` gives its function: enough to annotate a span, nothing to leak. */
export interface RampartSpan {
  setAttribute(key: string, value: SpanAttributeValue): void
  addEvent(name: string, attributes?: SpanAttributes): void
  /** Marks the span failed; the error's message is redacted before export. */
  recordError(error: unknown): void
}

/** Spans that reached the export pipeline and what became of them; every sampled span ends in exactly one. */
export interface SpanCounts {
  exported: number
  dropped: {
    /** The bounded queue was full (the collector is slower than the traffic). */
    queue_full: number
    /** The exporter reported a failure (collector down, refused, bad answer). */
    export_failed: number
    /** The exporter did not answer within `OTEL_BSP_EXPORT_TIMEOUT`. */
    export_timeout: number
    /** The span ended after shutdown began, or was still queued when the flush budget (5 s) ran out. */
    shutdown: number
  }
}

export type DropReason = keyof SpanCounts['dropped']

/** Where the runtime writes its own rare lines (export failures, late instrumentation). */
export interface TracingLog {
  warn(fields: Record<string, unknown>, message: string): void
}

/** The server span of one request, as the framework adapters drive it. */
export interface ServerSpan {
  readonly traceId: string
  readonly spanId: string
  recordError(error: unknown): void
  /** Ends the span with the response status; `principal` is already a fingerprint. */
  finish(status: number, principal?: string): void
  /** Ends the span of a request whose client went away before the response. */
  abort(): void
}

/** The consumer span of one background job, as `rampart/bullmq` drives it. */
export interface ConsumerSpan {
  readonly traceId: string
  readonly spanId: string
  recordError(error: unknown): void
  end(): void
}

export interface ServerSpanStart {
  method: string
  /** The route template, or undefined when no route matched. */
  route: string | undefined
  /** Path and query as received. */
  url: string
  headers: Readonly<Record<string, string | string[] | undefined>>
  userAgent: string | undefined
  httpVersion: string
}

/**
 * A started tracing pipeline: the process's tracer provider, instrumentations, the redacting
 * and counting processors and the exporter. There is at most one per process (OpenTelemetry's
 * global API is process-wide), shared by every app in it.
 */
export interface TracingRuntime {
  /** `preload` when started by `--import rampart/otel`, `plugin` when the framework plugin started it. */
  readonly origin: 'preload' | 'plugin'
  readonly counts: SpanCounts
  /** Instrumented modules that were loaded before the instrumentation (their calls are not traced). */
  readonly lateModules: readonly string[]
  /**
   * Starts the server span of the request whose context is `ctx`: writes its ids into `ctx`,
   * and makes the span active wherever `ctx` is current (children, outgoing calls, logs).
   */
  startServerSpan(start: ServerSpanStart, ctx: RequestContext): ServerSpan
  /** Tells Rampart's context module which request an OpenTelemetry context belongs to. */
  readonly frames: FrameReader
  withSpan<T>(name: string, attributes: SpanAttributes | undefined, fn: (span: RampartSpan) => T): T
  /** Writes the current trace context into `carrier` with the configured propagators (enqueue). */
  inject(carrier: Record<string, string>): void
  /**
   * Starts a CONSUMER span parented on the context `carrier` holds (or a new trace): writes its
   * ids into `ctx` and makes it active wherever `ctx` is current, as a server span does.
   */
  startConsumerSpan(
    name: string,
    attributes: SpanAttributes,
    carrier: Readonly<Record<string, string>>,
    ctx: RequestContext,
  ): ConsumerSpan
  /** Where export failures are reported; the latest app to attach wins. */
  setLog(log: TracingLog): void
  /** Adds the service's private keys to the redaction of span attributes. */
  setRedactKeys(keys: readonly string[]): void
  forceFlush(): Promise<void>
  shutdown(): Promise<void>
}
