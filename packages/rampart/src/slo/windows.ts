/**
 * Multi-window, multi-burn-rate alert tiers (Google SRE workbook, chapter 5). Each tier fires when
 * the error ratio over both its long and its short window is at least `factor × budget`, where
 * `factor = budgetSpent × period / longWindow`: 2 % of a 30 d budget in 1 h is a 14.4× burn.
 */
export interface BurnTier {
  readonly severity: 'page' | 'ticket'
  readonly long: string
  readonly short: string
  /** Share of the whole period's budget spent over the long window when the tier fires. */
  readonly budgetSpent: number
}

export const BURN_TIERS: readonly BurnTier[] = [
  { severity: 'page', long: '1h', short: '5m', budgetSpent: 0.02 },
  { severity: 'page', long: '6h', short: '30m', budgetSpent: 0.05 },
  { severity: 'ticket', long: '1d', short: '2h', budgetSpent: 0.1 },
  { severity: 'ticket', long: '3d', short: '6h', budgetSpent: 0.1 },
]

/** Every window a ratio is recorded for, shortest first. */
export const RATIO_WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'] as const

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }

/** Seconds in a Prometheus duration of one unit (`5m`, `30d`). */
export function durationSeconds(d: string): number {
  const m = /^(\d+)([smhdw])$/.exec(d)
  if (!m?.[1] || !m[2]) throw new Error(`not a duration: ${d}`)
  return Number(m[1]) * (UNIT_SECONDS[m[2]] as number)
}

/**
 * Rounds to 12 significant digits so generated rules read `0.001`, not `0.0009999999999999432`
 * (`(100 - 99.9) / 100` in floating point; Sloth prints the latter).
 */
export function round(n: number): number {
  return Number(n.toPrecision(12))
}

/**
 * The burn factor of a tier for an SLO period. Never below 1: a tier slower than 1× would alert
 * on a burn that does not exhaust the budget (that happens for periods under 30 d, e.g. the 3 d
 * tier of a 28 d period is 0.93×).
 */
export function burnFactor(tier: BurnTier, periodSeconds: number): number {
  return Math.max(1, round((tier.budgetSpent * periodSeconds) / durationSeconds(tier.long)))
}
