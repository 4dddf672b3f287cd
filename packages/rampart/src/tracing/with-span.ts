import { tracingRuntime } from './state.js'
import type { RampartSpan, SpanAttributes } from './types.js'

const NOOP_SPAN: RampartSpan = {
  setAttribute() {},
  addEvent() {},
  recordError() {},
}

/**
 * Runs `fn` inside a child span of the current one. With tracing off it just calls `fn`
 * (no OpenTelemetry module is loaded). A returned promise ends the span when it settles; a
 * throw or rejection marks the span failed and is rethrown unchanged. Attributes pass through
 * the shared redaction policy before export; never put a raw user id in them (use
 * `app.rampart.fingerprint`).
 *
 * @example
 * const ok = await withSpan('auth.argon2_verify', { 'auth.algorithm': 'argon2id' }, () =>
 *   argon2.verify(hash, password),
 * )
 */
export function withSpan<T>(
  name: string,
  attributes: SpanAttributes | undefined,
  fn: (span: RampartSpan) => T,
): T {
  const runtime = tracingRuntime()
  return runtime === undefined ? fn(NOOP_SPAN) : runtime.withSpan(name, attributes, fn)
}
