import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { generateDashboard } from '../../slo/dashboard.js'
import { loadConfig } from '../../slo/load-config.js'
import { usageErrors } from '../args.js'
import type { Command } from '../command.js'

const command: Command = {
  name: 'dashboard',
  summary: 'Grafana dashboard JSON for the service and its SLOs',
  usage: `Usage: rampart dashboard [--config <file>] [--out <file>]

Prints a Grafana dashboard (JSON, Prometheus datasource as a variable): latency p50/p95/p99
with the SLO thresholds drawn, request and error rate per route, SLO compliance, error budget
remaining and burn rate per SLO, rate-limit and CSRF blocks, in-flight requests, event-loop lag.

Options:
  --config <file>   the config (default: rampart.config.ts in this directory)
  --out <file>      write the JSON there instead of standard output
  -h, --help        this help

Exit codes: 0 generated, 1 invalid config, 2 bad arguments.`,
  async run(argv, io) {
    const { values } = usageErrors(() =>
      parseArgs({
        args: argv,
        options: {
          config: { type: 'string' },
          out: { type: 'string' },
        },
      }),
    )
    const { config } = await loadConfig(io.cwd, values.config)
    const json = `${JSON.stringify(generateDashboard(config), null, 2)}\n`
    if (values.out === undefined) io.stdout.write(json)
    else {
      writeFileSync(resolve(io.cwd, values.out), json)
      io.stderr.write(`wrote ${values.out}\n`)
    }
    return 0
  },
}
export default command
