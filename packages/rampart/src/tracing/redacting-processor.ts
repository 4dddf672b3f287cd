import type { Attributes, AttributeValue, Context } from '@opentelemetry/api'
import type { ReadableSpan, Span, SpanProcessor, TimedEvent } from '@opentelemetry/sdk-trace-base'
import { REDACTED, type Redactor } from '../logging/redact.js'

function redactValue(key: string, value: AttributeValue | undefined, redactor: Redactor) {
  if (redactor.isSensitiveKey(key)) return REDACTED
  if (typeof value === 'string') return redactor.redactString(value)
  if (Array.isArray(value)) {
    return value.map((v) =>
      typeof v === 'string' ? redactor.redactString(v) : v,
    ) as AttributeValue
  }
  return value
}

/** A redacted copy of the attributes, or the same object when nothing needed redacting. */
export function redactAttributes(attributes: Attributes, redactor: Redactor): Attributes {
  let out: Attributes | undefined
  for (const key in attributes) {
    const value = attributes[key]
    const clean = redactValue(key, value, redactor)
    if (clean === value) continue
    out ??= { ...attributes }
    out[key] = clean
  }
  return out ?? attributes
}

/**
 * Applies the shared redaction policy (the one logs use) to everything a span carries out of
 * the process: attribute keys and values (URLs and query strings included), event attributes,
 * the status message and the name. The span itself is left untouched; the next processor gets
 * a view with the redacted fields, and only when something changed.
 */
export class RedactingProcessor implements SpanProcessor {
  readonly #next: SpanProcessor
  readonly #redactor: () => Redactor

  constructor(next: SpanProcessor, redactor: () => Redactor) {
    this.#next = next
    this.#redactor = redactor
  }

  onStart(span: Span, parentContext: Context): void {
    this.#next.onStart(span, parentContext)
  }

  onEnd(span: ReadableSpan): void {
    this.#next.onEnd(redactSpan(span, this.#redactor()))
  }

  forceFlush(): Promise<void> {
    return this.#next.forceFlush()
  }

  shutdown(): Promise<void> {
    return this.#next.shutdown()
  }
}

/** The span as exporters should see it. */
export function redactSpan(span: ReadableSpan, redactor: Redactor): ReadableSpan {
  const attributes = redactAttributes(span.attributes, redactor)
  let events: TimedEvent[] | undefined
  for (let i = 0; i < span.events.length; i++) {
    const event = span.events[i] as TimedEvent
    if (event.attributes === undefined) continue
    const clean = redactAttributes(event.attributes, redactor)
    if (clean === event.attributes) continue
    events ??= [...span.events]
    events[i] = { ...event, attributes: clean }
  }
  const name = redactor.redactString(span.name)
  const message = span.status.message
  const cleanMessage = message === undefined ? undefined : redactor.redactString(message)
  if (
    attributes === span.attributes &&
    events === undefined &&
    name === span.name &&
    cleanMessage === message
  ) {
    return span
  }
  // A view over the ended span: own properties shadow the sensitive fields, everything else
  // (ids, times, resource, spanContext()) is read through the prototype.
  return Object.create(span, {
    name: { value: name, enumerable: true },
    attributes: { value: attributes, enumerable: true },
    events: { value: events ?? span.events, enumerable: true },
    status: { value: { ...span.status, message: cleanMessage }, enumerable: true },
  }) as ReadableSpan
}
