/** Values `OTEL_PROPAGATORS` may list (the OpenTelemetry spec's, less the deprecated ones). */
export const PROPAGATOR_NAMES = ['tracecontext', 'baggage', 'b3', 'b3multi', 'none'] as const
/** A propagator to install (`none` only ever empties the list). */
export type PropagatorName = Exclude<(typeof PROPAGATOR_NAMES)[number], 'none'>

/** W3C trace context and baggage: the spec's default when `OTEL_PROPAGATORS` is unset or empty. */
export const DEFAULT_PROPAGATORS: readonly PropagatorName[] = ['tracecontext', 'baggage']

/**
 * The propagators `OTEL_PROPAGATORS` asks for, in order, without repeats; `[]` for `none`.
 * Throws on a name it does not know, naming it (config validation reports it as one line).
 */
export function propagatorsFromEnv(value: string | undefined): readonly PropagatorName[] {
  const names = (value ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '')
  if (names.length === 0) return DEFAULT_PROPAGATORS
  for (const name of names) {
    if (!(PROPAGATOR_NAMES as readonly string[]).includes(name)) {
      throw new Error(`unknown propagator "${name}"`)
    }
  }
  if (names.includes('none')) return []
  return [...new Set(names)] as PropagatorName[]
}
