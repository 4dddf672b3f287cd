import type { Command } from '../command.js'

/**
 * Every sub-command, loaded lazily so `rampart --help` stays fast and a command's heavy
 * dependencies (database drivers, YAML) load only when that command runs.
 * Add one line per command; keep the list sorted by name.
 */
export const commands: ReadonlyArray<{
  name: string
  summary: string
  load: () => Promise<Command>
}> = [
  {
    name: 'audit export',
    summary: 'write the audit rows as JSON lines',
    load: async () => (await import('./audit-export.js')).command,
  },
  {
    name: 'audit tail',
    summary: 'print the newest audit rows and follow',
    load: async () => (await import('./audit-tail.js')).command,
  },
  {
    name: 'audit verify',
    summary: 'check the audit hash chain; print the head to pin',
    load: async () => (await import('./audit-verify.js')).command,
  },
  {
    name: 'backup',
    summary: 'consistent copy of the audit and app databases, to a folder or s3://',
    load: async () => (await import('./backup.js')).command,
  },
  {
    name: 'restore',
    summary: 'restore a backup, then verify the audit chain',
    load: async () => (await import('./restore.js')).command,
  },
  {
    name: 'check',
    summary: 'Post-deploy smoke test of a running service',
    load: async () => (await import('./check.js')).default,
  },
  {
    name: 'dashboard',
    summary: 'Grafana dashboard JSON for the service and its SLOs',
    load: async () => (await import('./dashboard.js')).default,
  },
  {
    name: 'ops init',
    summary:
      'Generate the ops bundle (Prometheus, Alertmanager, Grafana, compose, Kubernetes, runbook)',
    load: async () => (await import('./ops-init.js')).default,
  },
  {
    name: 'slo rules',
    summary: 'Prometheus recording rules and burn-rate alerts from rampart.config.ts',
    load: async () => (await import('./slo-rules.js')).default,
  },
]
