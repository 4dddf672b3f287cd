/** Values `OTEL_TRACES_SAMPLER` may take (the OpenTelemetry spec's built-in samplers). */
export const SAMPLER_NAMES = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const
export type SamplerName = (typeof SAMPLER_NAMES)[number]

/** What to build: the root sampler, whether a parent's decision wins, and the ratio. */
export interface SamplerChoice {
  root: 'always_on' | 'always_off' | 'traceidratio'
  parentBased: boolean
  /** For `traceidratio`: the share of traces kept, 0…1. */
  ratio: number
}

/**
 * Reads `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` (default: parent-based, always on).
 * Throws naming the bad value; the plugin's config check reports it first as one line.
 *
 * Rampart builds the sampler itself (from the SDK's sampler classes) instead of letting the
 * tracer provider read the variables, because its own server spans take the same sampling
 * decision as the SDK's spans and so need the same sampler instance.
 */
export function samplerFromEnv(env: NodeJS.ProcessEnv): SamplerChoice {
  const raw = (env.OTEL_TRACES_SAMPLER ?? '').trim().toLowerCase()
  const name = (raw === '' ? 'parentbased_always_on' : raw) as SamplerName
  if (!SAMPLER_NAMES.includes(name)) throw new Error(`unknown sampler "${raw}"`)
  const parentBased = name.startsWith('parentbased_')
  const root = (parentBased ? name.slice('parentbased_'.length) : name) as SamplerChoice['root']
  let ratio = 1
  if (root === 'traceidratio') ratio = samplerRatio(env.OTEL_TRACES_SAMPLER_ARG)
  return { root, parentBased, ratio }
}

/** `OTEL_TRACES_SAMPLER_ARG` as a ratio: blank means 1; anything outside 0…1 throws. */
export function samplerRatio(arg: string | undefined): number {
  if (arg === undefined || arg.trim() === '') return 1
  const n = Number(arg)
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new Error(`sampler ratio "${arg}" is not 0…1`)
  return n
}
