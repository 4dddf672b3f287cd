import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { generateOpsBundle } from '../../ops/bundle.js'
import { loadConfig } from '../../slo/load-config.js'
import { usageErrors } from '../args.js'
import type { Command } from '../command.js'

const command: Command = {
  name: 'ops init',
  summary:
    'Generate the ops bundle: Prometheus, blackbox probe, Alertmanager, Grafana, collector, compose, Kubernetes, runbook',
  usage: `Usage: rampart ops init [--config <file>] [--dir <dir>] [--check]

Writes into <dir> (default: ops): prometheus.yml, rules/<service>.rules.yml and its promtool
tests, blackbox.yml (the probe from outside), alertmanager.yml, Grafana provisioning and
dashboard, otel-collector.yml, tempo.yml,
compose.yml, k8s/ (a kustomize base), runbook.md, and secrets/metrics-token (a new random token,
only if the file does not exist; it is git-ignored).

Options:
  --config <file>   the config (default: rampart.config.ts in this directory)
  --dir <dir>       where to write (default: ops)
  --check           write nothing; exit 1 naming each file that differs from what would be written
  -h, --help        this help

Exit codes: 0 done (or up to date), 1 invalid config or out of date, 2 bad arguments.`,
  async run(argv, io) {
    const { values } = usageErrors(() =>
      parseArgs({
        args: argv,
        options: {
          config: { type: 'string' },
          dir: { type: 'string', default: 'ops' },
          check: { type: 'boolean', default: false },
        },
      }),
    )
    const { config } = await loadConfig(io.cwd, values.config)
    const dir = resolve(io.cwd, values.dir)
    const files = generateOpsBundle(config)
    if (values.check) {
      const stale = [...files].filter(([path, content]) => {
        const file = join(dir, path)
        return !existsSync(file) || readFileSync(file, 'utf8') !== content
      })
      for (const [path] of stale) io.stderr.write(`out of date: ${join(values.dir, path)}\n`)
      if (stale.length > 0) {
        io.stderr.write(`run "rampart ops init --dir ${values.dir}" to regenerate\n`)
        return 1
      }
      io.stdout.write(`${files.size} files in ${values.dir} are up to date\n`)
      return 0
    }
    for (const [path, content] of files) {
      const file = join(dir, path)
      mkdirSync(dirname(file), { recursive: true })
      writeFileSync(file, content)
      io.stdout.write(`wrote ${join(values.dir, path)}\n`)
    }
    const token = join(dir, 'secrets', 'metrics-token')
    if (!existsSync(token)) {
      writeFileSync(token, randomBytes(24).toString('base64url'), { mode: 0o600 })
      io.stdout.write(
        `wrote ${join(values.dir, 'secrets', 'metrics-token')} (new METRICS_TOKEN; git-ignored)\n`,
      )
    }
    return 0
  },
}
export default command
