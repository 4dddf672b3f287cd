import { writeFileSync } from 'node:fs'
import { basename, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { loadConfig } from '../../slo/load-config.js'
import { renderRuleTests } from '../../slo/rule-tests.js'
import { generateRules, renderRules } from '../../slo/rules.js'
import { usageErrors } from '../args.js'
import type { Command } from '../command.js'

const command: Command = {
  name: 'slo rules',
  summary: 'Prometheus recording rules and burn-rate alerts from rampart.config.ts',
  usage: `Usage: rampart slo rules [--config <file>] [--out <file>] [--tests <file>]

Reads the SLOs of rampart.config.ts and prints Prometheus recording rules, multi-window
multi-burn-rate alerts (page: 14.4x over 1h/5m, 6x over 6h/30m; ticket: 3x over 1d/2h,
1x over 3d/6h, scaled to each SLO's window), saturation, target-down and blackbox probe alerts.

Options:
  --config <file>   the config (default: rampart.config.ts, .mts, .mjs or .js in this directory)
  --out <file>      write the rules there instead of standard output
  --tests <file>    also write promtool unit tests for them (run: promtool test rules <file>)
  -h, --help        this help

Exit codes: 0 generated, 1 invalid config, 2 bad arguments.`,
  async run(argv, io) {
    const { values } = usageErrors(() =>
      parseArgs({
        args: argv,
        options: {
          config: { type: 'string' },
          out: { type: 'string' },
          tests: { type: 'string' },
        },
      }),
    )
    const { config } = await loadConfig(io.cwd, values.config)
    for (const w of generateRules(config).warnings) io.stderr.write(`warning: ${w}\n`)
    const rules = renderRules(config)
    if (values.out === undefined) io.stdout.write(rules)
    else {
      writeFileSync(resolve(io.cwd, values.out), rules)
      io.stderr.write(`wrote ${values.out}\n`)
    }
    if (values.tests !== undefined) {
      const rulesRef = values.out === undefined ? 'rules.yml' : basename(values.out)
      writeFileSync(resolve(io.cwd, values.tests), renderRuleTests(config, rulesRef))
      io.stderr.write(`wrote ${values.tests} (promtool test rules ${values.tests})\n`)
    }
    return 0
  },
}
export default command
