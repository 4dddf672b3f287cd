import { RampartError } from '../errors/rampart-error.js'
import type { MetricDescription } from '../metrics/registry.js'
import type { SloConfig } from './options.js'
import { parsed } from './ratio.js'

/**
 * Checks the metrics rampart.config.ts names (ratio SLOs' counters, `businessMetrics`) against
 * those the running service registered, and throws one line naming what is wrong: an unknown
 * metric, one that is not a counter, or a label it does not have. The CLI cannot know the
 * service's metrics; the service can, so a typo fails start-up instead of alerting on nothing.
 */
export function checkDeclaredMetrics(
  config: SloConfig,
  describe: (name: string) => MetricDescription | undefined,
): void {
  const check = (where: string, metric: string, labels: readonly string[]) => {
    const fail = (what: string) => {
      throw new RampartError('ERR_RAMPART_SLO', `${where}: ${what}`)
    }
    const found = describe(metric)
    if (found === undefined)
      return fail(
        `${metric} is not a metric ${config.service} registers (register it before the app is ready)`,
      )
    if (found.type !== 'counter') return fail(`${metric} is a ${found.type}, not a counter`)
    for (const label of labels)
      if (!found.labelNames.includes(label))
        fail(
          `"${label}" is not a label of ${metric} (its labels: ${found.labelNames.join(', ') || 'none'})`,
        )
  }
  for (const slo of config.slos) {
    if (slo.kind !== 'ratio') continue
    for (const [field, text] of [
      ['good', slo.good],
      ['total', slo.total],
    ] as const) {
      const sel = parsed(text)
      check(
        `SLO ${slo.name}: ${field}`,
        sel.metric,
        sel.matchers.map((m) => m.label),
      )
    }
  }
  for (const m of config.businessMetrics ?? [])
    check(`businessMetrics ${m.name}`, m.name, m.by ?? [])
}
