import { stringify } from 'yaml'
import { generateDashboard } from '../slo/dashboard.js'
import { workerScrapeConfigs } from '../slo/jobs.js'
import type { SloConfig } from '../slo/options.js'
import { renderRuleTests } from '../slo/rule-tests.js'
import { GENERATED_HEADER, renderRules } from '../slo/rules.js'
import { renderRunbook } from '../slo/runbook.js'
import { blackboxConfig, probeScrapeConfig } from './blackbox.js'
import { composeFile } from './compose.js'
import { k8sManifests } from './k8s.js'

// Written as YAML 1.1, which Kubernetes reads (sigs.k8s.io/yaml): `off`, `yes`, `on` are quoted,
// else a setting such as `AIRLOCK_WORKER: off` would arrive as a boolean.
const yaml = (what: string, doc: unknown, note = '') =>
  GENERATED_HEADER(what) +
  note +
  stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false, version: '1.1' })

/**
 * Every file of the ops bundle, by path relative to the bundle directory. Pure: the same config
 * gives the same bytes (a test regenerates airlock's and compares with the committed `ops/`).
 */
export function generateOpsBundle(config: SloConfig): Map<string, string> {
  const svc = config.service
  const rulesFile = `rules/${svc}.rules.yml`
  const files = new Map<string, string>()
  const cmd = 'ops init'

  files.set(
    'prometheus.yml',
    yaml(cmd, {
      global: {
        scrape_interval: '15s',
        evaluation_interval: '15s',
        external_labels: { rampart_bundle: svc },
      },
      rule_files: [rulesFile],
      alerting: { alertmanagers: [{ static_configs: [{ targets: ['alertmanager:9093'] }] }] },
      scrape_configs: [
        {
          job_name: svc,
          metrics_path: '/metrics',
          // The service's METRICS_TOKEN, read from a file next to this one (see secrets/).
          authorization: { type: 'Bearer', credentials_file: 'secrets/metrics-token' },
          static_configs: [{ targets: [`${svc}:${config.port}`] }],
        },
        probeScrapeConfig(config),
        ...workerScrapeConfigs(config),
        { job_name: 'prometheus', static_configs: [{ targets: ['localhost:9090'] }] },
      ],
    }),
  )
  files.set(rulesFile, renderRules(config))
  files.set('blackbox.yml', yaml(cmd, blackboxConfig()))
  files.set(`rules/${svc}.rules.test.yml`, renderRuleTests(config, `${svc}.rules.yml`))
  files.set(
    'alertmanager.yml',
    yaml(
      cmd,
      {
        route: {
          receiver: 'default',
          group_by: ['alertname', 'rampart_service', 'rampart_slo'],
          group_wait: '30s',
          group_interval: '5m',
          repeat_interval: '12h',
          routes: [
            { receiver: 'page', matchers: ['severity="page"'], repeat_interval: '1h' },
            {
              receiver: 'ticket',
              matchers: ['severity="ticket"'],
              group_wait: '5m',
              repeat_interval: '24h',
            },
          ],
        },
        // While a page for an SLO fires, its tickets say nothing new.
        inhibit_rules: [
          {
            source_matchers: ['severity="page"', 'alertname="SLOErrorBudgetBurn"'],
            target_matchers: ['severity="ticket"', 'alertname="SLOErrorBudgetBurn"'],
            equal: ['rampart_service', 'rampart_slo'],
          },
          {
            source_matchers: ['alertname="ServiceTargetDown"'],
            target_matchers: ['severity="ticket"'],
            equal: ['rampart_service'],
          },
        ],
        receivers: [
          { name: 'default' },
          {
            name: 'page',
            webhook_configs: [{ url: 'http://alert-receiver.invalid/page', send_resolved: true }],
          },
          {
            name: 'ticket',
            webhook_configs: [{ url: 'http://alert-receiver.invalid/ticket', send_resolved: true }],
          },
        ],
      },
      "# Replace the receivers' webhook URLs with your pager (page) and ticket queue (ticket).\n",
    ),
  )
  files.set(
    'grafana/provisioning/datasources/datasources.yml',
    yaml(cmd, {
      apiVersion: 1,
      datasources: [
        {
          name: 'Prometheus',
          type: 'prometheus',
          uid: 'prometheus',
          access: 'proxy',
          url: 'http://prometheus:9090',
          isDefault: true,
          // An exemplar's trace_id (Rampart attaches one to each duration bucket) links to its
          // trace in Tempo: a click on a slow point of a latency panel opens the request.
          jsonData: {
            exemplarTraceIdDestinations: [
              { name: 'trace_id', datasourceUid: 'tempo', urlDisplayLabel: 'Open trace' },
            ],
          },
        },
        { name: 'Tempo', type: 'tempo', uid: 'tempo', access: 'proxy', url: 'http://tempo:3200' },
      ],
    }),
  )
  files.set(
    'grafana/provisioning/dashboards/rampart.yml',
    yaml(cmd, {
      apiVersion: 1,
      providers: [
        {
          name: 'rampart',
          folder: 'Rampart',
          type: 'file',
          disableDeletion: true,
          options: { path: '/var/lib/grafana/dashboards' },
        },
      ],
    }),
  )
  files.set(
    `grafana/dashboards/${svc}.json`,
    `${JSON.stringify(generateDashboard(config), null, 2)}\n`,
  )
  files.set(
    'otel-collector.yml',
    yaml(cmd, {
      receivers: {
        otlp: {
          protocols: { grpc: { endpoint: '0.0.0.0:4317' }, http: { endpoint: '0.0.0.0:4318' } },
        },
      },
      processors: { memory_limiter: { check_interval: '1s', limit_mib: 400 }, batch: {} },
      extensions: { health_check: { endpoint: '0.0.0.0:13133' } },
      exporters: { 'otlp/tempo': { endpoint: 'tempo:4317', tls: { insecure: true } } },
      service: {
        extensions: ['health_check'],
        pipelines: {
          traces: {
            receivers: ['otlp'],
            processors: ['memory_limiter', 'batch'],
            exporters: ['otlp/tempo'],
          },
        },
      },
    }),
  )
  files.set(
    'tempo.yml',
    yaml(cmd, {
      server: { http_listen_port: 3200 },
      distributor: { receivers: { otlp: { protocols: { grpc: { endpoint: '0.0.0.0:4317' } } } } },
      storage: {
        trace: {
          backend: 'local',
          local: { path: '/var/tempo/traces' },
          wal: { path: '/var/tempo/wal' },
        },
      },
    }),
  )
  files.set(
    'compose.yml',
    yaml(
      cmd,
      composeFile(config),
      '# export SECRET_KEY=... POSTGRES_PASSWORD=... METRICS_TOKEN="$(cat secrets/metrics-token)"; docker compose up --build\n',
    ),
  )
  for (const [name, doc] of k8sManifests(config)) files.set(`k8s/${name}`, yaml(cmd, doc))
  files.set(
    'secrets/.gitignore',
    '# Secrets for the bundle (e.g. metrics-token); never commit them.\n*\n!.gitignore\n',
  )
  files.set('runbook.md', renderRunbook(config))
  return files
}
