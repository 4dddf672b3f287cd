import { runbookAnchor } from './alerts.js'
import type { SloConfig } from './options.js'
import { selector } from './promql.js'

/**
 * The probe from outside: the Prometheus blackbox exporter requests `/healthz` and `/readyz`
 * the way a user's client would (DNS, TCP, TLS, HTTP), so a service that is up but unreachable,
 * or whose certificate is about to expire, alerts even though its own metrics look healthy.
 */

/** Days before a certificate's expiry that `ServiceCertificateExpiringSoon` fires. */
export const CERT_EXPIRY_WARNING_DAYS = 14

/** The Prometheus job of the probe results: `<service>-probe`. */
export function probeJob(config: SloConfig): string {
  return `${config.service}-probe`
}

/** Where the probe sends its requests: `publicUrl`, else the service inside the bundle. */
export function probeBaseUrl(config: SloConfig): string {
  return (config.publicUrl ?? `http://${config.service}:${config.port}`).replace(/\/+$/, '')
}

/** The URLs probed: liveness and readiness. */
export function probeTargets(config: SloConfig): string[] {
  const base = probeBaseUrl(config)
  return [`${base}/healthz`, `${base}/readyz`]
}

/** The blackbox exporter module the probes use (`https_2xx` also fails on plain HTTP). */
export function probeModule(config: SloConfig): 'http_2xx' | 'https_2xx' {
  return probeBaseUrl(config).startsWith('https://') ? 'https_2xx' : 'http_2xx'
}

interface ProbeRule {
  alert: string
  expr: string
  for: string
  labels: Record<string, string>
  annotations: Record<string, string>
}

/** The probe alerts: a failing probe (page), and a certificate near its expiry (ticket). */
export function probeRules(config: SloConfig): ProbeRule[] {
  const svc = config.service
  const sel = selector({ job: probeJob(config) })
  const link = (a: string) => `${config.runbookUrl}#${runbookAnchor(a)}`
  const days = CERT_EXPIRY_WARNING_DAYS
  return [
    {
      alert: 'ServiceProbeFailed',
      expr: `probe_success${sel} == 0`,
      for: '2m',
      labels: { severity: 'page', rampart_service: svc },
      annotations: {
        summary: `${svc}: the probe from outside fails`,
        description: `The blackbox exporter has failed to get a 200 from ${svc} (${probeTargets(config).join(', ')}) for 2 minutes: users cannot reach it, or it is not ready.`,
        runbook_url: link('ServiceProbeFailed'),
      },
    },
    {
      alert: 'ServiceCertificateExpiringSoon',
      expr: `probe_ssl_earliest_cert_expiry${sel} - time() < ${days} * 86400`,
      for: '10m',
      labels: { severity: 'ticket', rampart_service: svc },
      annotations: {
        summary: `${svc}: the TLS certificate expires within ${days} days`,
        description: `The certificate ${svc} presents over HTTPS expires in less than ${days} days; after that every client refuses to connect.`,
        runbook_url: link('ServiceCertificateExpiringSoon'),
      },
    },
  ]
}

/**
 * promtool cases: a probe failing for 2 minutes pages; a certificate 10 days from expiry
 * tickets, one 30 days from it does not.
 */
export function probeScenarios(
  config: SloConfig,
  rules: ReadonlyArray<{
    alert?: string
    labels?: Record<string, string>
    annotations?: Record<string, string>
  }>,
) {
  const [healthz, readyz] = probeTargets(config) as [string, string]
  const labels = { job: probeJob(config), instance: healthz }
  const later = { job: probeJob(config), instance: readyz }
  const expected = (alert: string) => {
    const rule = rules.find((r) => r.alert === alert)
    return [
      {
        exp_labels: { ...labels, ...(rule?.labels ?? {}) },
        exp_annotations: { ...(rule?.annotations ?? {}) },
      },
    ]
  }
  // Expiry timestamps are absolute and promtool's clock starts at 0: 10 and 30 days from then.
  const soon = 10 * 86_400
  const fine = 30 * 86_400
  return [
    {
      name: 'ServiceProbeFailed fires after the probe has failed for 2 minutes',
      interval: '1m',
      input_series: [{ series: `probe_success${selector(labels)}`, values: '1 1 1 0 0 0 0 0 0 0' }],
      alert_rule_test: [
        { eval_time: '4m', alertname: 'ServiceProbeFailed', exp_alerts: [] },
        {
          eval_time: '6m',
          alertname: 'ServiceProbeFailed',
          exp_alerts: expected('ServiceProbeFailed'),
        },
      ],
    },
    {
      name: `ServiceCertificateExpiringSoon fires for a certificate expiring within ${CERT_EXPIRY_WARNING_DAYS} days`,
      interval: '1m',
      input_series: [
        { series: `probe_ssl_earliest_cert_expiry${selector(labels)}`, values: `${soon}+0x20` },
        { series: `probe_ssl_earliest_cert_expiry${selector(later)}`, values: `${fine}+0x20` },
      ],
      alert_rule_test: [
        { eval_time: '5m', alertname: 'ServiceCertificateExpiringSoon', exp_alerts: [] },
        {
          eval_time: '15m',
          alertname: 'ServiceCertificateExpiringSoon',
          exp_alerts: expected('ServiceCertificateExpiringSoon'),
        },
      ],
    },
  ]
}
