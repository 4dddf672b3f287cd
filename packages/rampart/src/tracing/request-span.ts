/**
 * The server span of one request: an OpenTelemetry API `Span` (so `trace.getActiveSpan()`,
 * instrumentations and `withSpan` see it and parent on it) that is also a `ReadableSpan` (so the
 * SDK's exporters send it unchanged). Loaded only when tracing is on.
 *
 * Written instead of using the SDK's tracer for the one span every request has: the SDK's
 * `startSpan` and `end` (id generation aside) cost more per request than everything else Rampart
 * does, through per-call option objects, attribute sanitising and counting (`Object.keys` per
 * attribute), time anchoring at start and end, processor and metrics hooks, and two context copies
 * to make the span active. This span keeps its fixed attributes as given (already valid), reads
 * the clock once at each end, and converts times only when it is exported. Spans a service makes
 * itself (`withSpan`) and instrumentations' spans are still the SDK's. See ADR 0009.
 */
import {
  type Attributes,
  type AttributeValue,
  type Context,
  type Exception,
  type HrTime,
  type Link,
  type Span,
  type SpanAttributes,
  type SpanContext,
  SpanKind,
  type SpanStatus,
  SpanStatusCode,
  type TimeInput,
} from '@opentelemetry/api'
import {
  hrTime,
  hrTimeDuration,
  type InstrumentationScope,
  isAttributeValue,
  isTimeInput,
  sanitizeAttributes,
  timeInputToHrTime,
} from '@opentelemetry/core'
import type { Resource } from '@opentelemetry/resources'
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base'
import type { Redactor } from '../logging/redact.js'
import type { ServerSpan } from './types.js'

/** The SDK's span limits (`OTEL_SPAN_*_LIMIT`), applied to what a service adds to the span. */
export interface SpanLimits {
  attributeCountLimit: number
  attributeValueLengthLimit: number
  eventCountLimit: number
  linkCountLimit: number
}

/** What every request span of a runtime shares: where it goes when it ends, and its identity. */
export interface RequestSpanPipeline {
  readonly resource: Resource
  readonly scope: InstrumentationScope
  readonly limits: SpanLimits
  /** Receives each recorded span once, when it ends. */
  onEnd(span: ReadableSpan): void
}

/** The attributes of a request span whose value the client chose. */
const CLIENT_FIELDS = ['url.path', 'url.query', 'user_agent.original'] as const

const UNSET: SpanStatus = Object.freeze({ code: SpanStatusCode.UNSET })
const NONE: never[] = []
Object.freeze(NONE)

function truncate(value: AttributeValue, limit: number): AttributeValue {
  if (typeof value === 'string') return value.length > limit ? value.slice(0, limit) : value
  if (Array.isArray(value))
    return value.map((v) =>
      typeof v === 'string' && v.length > limit ? v.slice(0, limit) : v,
    ) as AttributeValue
  return value
}

export class RequestSpan implements Span, ReadableSpan, ServerSpan {
  readonly kind = SpanKind.SERVER
  readonly traceId: string
  readonly spanId: string
  status: SpanStatus = UNSET
  events: TimedEvent[] = NONE
  links: Link[] = NONE
  ended = false
  droppedAttributesCount = 0
  droppedEventsCount = 0
  droppedLinksCount = 0
  /** `performance.now()` at the start and at the end. */
  readonly startedAt: number
  /**
   * Wall clock minus the monotonic one at the start, ms: the SDK anchors its spans' times the
   * same way, so children made by the SDK line up with this span even after clock drift.
   */
  readonly anchor: number
  endedAt = 0
  /** An end time the caller gave to `end()`. */
  endGiven: HrTime | undefined = undefined
  /**
   * The request's OpenTelemetry context (the caller's with this span active), built by the
   * context manager when first asked for: most requests never need it.
   */
  active: Context | undefined = undefined
  /**
   * Set once code outside Rampart changed the span through the API (attributes, events, links,
   * name, status, exceptions): its content can then hold anything, and it is redacted whole.
   */
  annotated = false
  // Plain fields, not `#private` ones: the redacting step hands exporters a view made with
  // `Object.create(span)`, and private fields are not reachable through such a view.
  attributeCount: number

  /**
   * @param attributes The span's initial attributes, owned by the span from now on (valid
   *   attribute values only).
   * @param recording False when the sampler said NOT_RECORD: the span then only carries its ids
   *   (for children and outgoing calls) and records nothing.
   */
  constructor(
    readonly pipeline: RequestSpanPipeline,
    public name: string,
    readonly context: SpanContext,
    readonly parentSpanContext: SpanContext | undefined,
    /** The context the span was started in (the caller's, extracted from the request). */
    readonly parentContext: Context,
    public attributes: Attributes,
    readonly recording: boolean,
  ) {
    this.traceId = context.traceId
    this.spanId = context.spanId
    this.startedAt = performance.now()
    this.anchor = Date.now() - (this.startedAt + performance.timeOrigin)
    let n = 0
    for (const _ in attributes) n++
    this.attributeCount = n
  }

  // ReadableSpan: times are converted only when an exporter reads them.
  get startTime(): HrTime {
    return hrTime(this.startedAt + this.anchor)
  }
  get endTime(): HrTime {
    return this.endGiven ?? hrTime(this.endedAt + this.anchor)
  }
  get duration(): HrTime {
    return hrTimeDuration(this.startTime, this.endTime)
  }
  get resource(): Resource {
    return this.pipeline.resource
  }
  get instrumentationScope(): InstrumentationScope {
    return this.pipeline.scope
  }

  // API Span
  spanContext(): SpanContext {
    return this.context
  }

  isRecording(): boolean {
    return this.recording && !this.ended
  }

  setAttribute(key: string, value: AttributeValue): this {
    if (!this.isRecording() || key === '' || value == null || !isAttributeValue(value)) return this
    this.annotated = true
    const { attributeCountLimit, attributeValueLengthLimit } = this.pipeline.limits
    const isNew = !Object.hasOwn(this.attributes, key)
    if (isNew && this.attributeCount >= attributeCountLimit) {
      this.droppedAttributesCount++
      return this
    }
    this.attributes[key] = truncate(value, attributeValueLengthLimit)
    if (isNew) this.attributeCount++
    return this
  }

  setAttributes(attributes: SpanAttributes): this {
    for (const key in attributes) {
      const value = attributes[key]
      if (value !== undefined) this.setAttribute(key, value)
    }
    return this
  }

  addEvent(name: string, attributesOrTime?: SpanAttributes | TimeInput, time?: TimeInput): this {
    if (!this.isRecording()) return this
    let attributes: SpanAttributes | undefined
    if (isTimeInput(attributesOrTime)) {
      if (!isTimeInput(time)) time = attributesOrTime
    } else attributes = attributesOrTime
    this.annotated = true
    const { eventCountLimit } = this.pipeline.limits
    if (this.events === NONE) this.events = []
    if (this.events.length >= eventCountLimit) {
      this.droppedEventsCount++
      if (eventCountLimit === 0) return this
      this.events.shift()
    }
    this.events.push({
      name,
      attributes: sanitizeAttributes(attributes),
      time: time === undefined ? hrTime() : timeInputToHrTime(time),
      droppedAttributesCount: 0,
    })
    return this
  }

  addLink(link: Link): this {
    if (!this.isRecording()) return this
    this.annotated = true
    if (this.links === NONE) this.links = []
    if (this.links.length >= this.pipeline.limits.linkCountLimit) {
      this.droppedLinksCount++
      return this
    }
    this.links.push({ context: link.context, attributes: sanitizeAttributes(link.attributes) })
    return this
  }

  addLinks(links: Link[]): this {
    for (const link of links) this.addLink(link)
    return this
  }

  setStatus(status: SpanStatus): this {
    if (!this.isRecording() || status.code === SpanStatusCode.UNSET) return this
    if (this.status.code === SpanStatusCode.OK) return this
    this.annotated = true
    this.status =
      status.code === SpanStatusCode.ERROR && typeof status.message === 'string'
        ? { code: status.code, message: status.message }
        : { code: status.code }
    return this
  }

  updateName(name: string): this {
    if (!this.isRecording()) return this
    this.annotated = true
    this.name = name
    return this
  }

  /**
   * Redacts, in place, what the client sent: the path, the query and the user agent. Everything
   * else on a span nobody annotated is Rampart's own (method, route template, scheme, protocol,
   * status, fingerprint), so the full redaction pass is kept for annotated spans.
   */
  scrubClientFields(redactor: Redactor): void {
    const { attributes } = this
    for (const key of CLIENT_FIELDS) {
      const value = attributes[key]
      if (typeof value === 'string') attributes[key] = redactor.redactString(value)
    }
  }

  recordException(exception: Exception, time?: TimeInput): void {
    const attributes: Attributes = {}
    if (typeof exception === 'string') attributes['exception.message'] = exception
    else if (exception) {
      const type = exception.code ?? exception.name
      if (type !== undefined) attributes['exception.type'] = String(type)
      if (exception.message) attributes['exception.message'] = exception.message
      if (exception.stack) attributes['exception.stacktrace'] = exception.stack
    }
    if (attributes['exception.type'] !== undefined || attributes['exception.message'] !== undefined)
      this.addEvent('exception', attributes, time)
  }

  /** Ends the span (API). The adapter ends it with `finish` instead, which adds the status. */
  end(endTime?: TimeInput): void {
    if (this.ended) return
    this.endedAt = performance.now()
    if (endTime !== undefined) this.endGiven = timeInputToHrTime(endTime)
    this.ended = true
    if (this.recording) this.pipeline.onEnd(this)
  }

  // ServerSpan: how the framework adapters drive it.
  recordError(error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error))
    this.recordException(err)
    this.setAttribute('error.type', err.name)
  }

  finish(status: number, principal?: string): void {
    if (this.ended) return
    if (this.recording) {
      const { attributes } = this
      attributes['http.response.status_code'] = status
      if (principal !== undefined) attributes['enduser.pseudo.id'] = principal
      if (status >= 500) {
        this.status = { code: SpanStatusCode.ERROR }
        attributes['error.type'] = String(status)
      }
    }
    this.end()
  }

  abort(): void {
    if (this.ended) return
    this.setStatus({ code: SpanStatusCode.ERROR, message: 'client aborted the request' })
    this.setAttribute('error.type', 'aborted')
    this.end()
  }
}
