import { stringify } from 'yaml'
import { envSchema } from '../config/env.js'
import { generateDashboard } from '../slo/dashboard.js'
import { workerScrapeConfigs } from '../slo/jobs.js'
import type { SloConfig } from '../slo/options.js'
import { renderRuleTests } from '../slo/rule-tests.js'
import { GENERATED_HEADER, renderRules } from '../slo/rules.js'
import { renderRunbook } from '../slo/runbook.js'

/** Images the compose file runs; pinned so the bundle behaves the same everywhere. */
export const IMAGES = {
  prometheus: 'prom/prometheus:v2.53.2',
  alertmanager: 'prom/alertmanager:v0.27.0',
  grafana: 'grafana/grafana:11.2.0',
  tempo: 'grafana/tempo:2.6.0',
  collector: 'otel/opentelemetry-collector-contrib:0.109.0',
} as const

/** Environment variables that hold secrets: Helm reads them from a Secret, never from values. */
const SECRET_VARS = new Set([
  'SECRET_KEY',
  'METRICS_TOKEN',
  'AUDIT_KEY',
  'AUDIT_DB',
  'SENTRY_DSN',
  'RAMPART_CONSOLE_TOKEN',
])

/** Production values for every variable of DESIGN §3 that is not a secret (`""` = unset). */
function productionEnv(config: SloConfig): Record<string, string> {
  const chosen: Record<string, string> = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    METRICS_ENABLED: 'true',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318',
    OTEL_SERVICE_NAME: config.service,
    DATA_DIR: '/data',
    TRUSTED_PROXIES: '10.0.0.0/8',
    RATE_LIMIT_STORE: 'redis://redis:6379',
    RATE_LIMIT_ON_STORE_ERROR: 'open',
    MAX_UPLOAD_MB: '500',
    MAX_BODY_KB: '1024',
    RAMPART_CONSOLE: 'false',
  }
  const env: Record<string, string> = {}
  for (const name of Object.keys(envSchema.shape))
    if (!SECRET_VARS.has(name)) env[name] = chosen[name] ?? ''
  return env
}

/** `${NAME:?why}`: compose refuses to start when the variable is unset. */
const composeVar = (name: string, why: string) => `\${${name}:?${why}}`

const yaml = (what: string, doc: unknown, note = '') =>
  GENERATED_HEADER(what) + note + stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false })

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
        ...workerScrapeConfigs(config),
        { job_name: 'prometheus', static_configs: [{ targets: ['localhost:9090'] }] },
      ],
    }),
  )
  files.set(rulesFile, renderRules(config))
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
      exporters: { 'otlp/tempo': { endpoint: 'tempo:4317', tls: { insecure: true } } },
      service: {
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
  const env = productionEnv(config)
  files.set(
    'compose.yml',
    yaml(
      cmd,
      {
        name: `${svc}-ops`,
        services: {
          [svc]: {
            image: `${svc}:latest`,
            ports: [`127.0.0.1:${config.port}:${config.port}`],
            environment: {
              ...Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')),
              RATE_LIMIT_STORE: 'memory',
              HOST: '0.0.0.0',
              PORT: String(config.port),
              SECRET_KEY: composeVar('SECRET_KEY', 'set SECRET_KEY (32+ bytes)'),
              METRICS_TOKEN: composeVar(
                'METRICS_TOKEN',
                'set METRICS_TOKEN to the content of secrets/metrics-token',
              ),
            },
            volumes: [`${svc}-data:/data`],
            healthcheck: {
              test: [
                'CMD',
                'node',
                '-e',
                `fetch('http://127.0.0.1:${config.port}/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`,
              ],
              interval: '10s',
              timeout: '3s',
              retries: 3,
            },
          },
          prometheus: {
            image: IMAGES.prometheus,
            command: [
              '--config.file=/etc/prometheus/prometheus.yml',
              '--storage.tsdb.path=/prometheus',
              '--web.external-url=http://localhost:9090',
            ],
            ports: ['127.0.0.1:9090:9090'],
            volumes: [
              './prometheus.yml:/etc/prometheus/prometheus.yml:ro',
              './rules:/etc/prometheus/rules:ro',
              './secrets:/etc/prometheus/secrets:ro',
            ],
          },
          alertmanager: {
            image: IMAGES.alertmanager,
            command: [
              '--config.file=/etc/alertmanager/alertmanager.yml',
              '--cluster.listen-address=',
            ],
            ports: ['127.0.0.1:9093:9093'],
            volumes: ['./alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro'],
          },
          grafana: {
            image: IMAGES.grafana,
            ports: ['127.0.0.1:3001:3000'],
            environment: { GF_AUTH_ANONYMOUS_ENABLED: 'false' },
            volumes: [
              './grafana/provisioning:/etc/grafana/provisioning:ro',
              './grafana/dashboards:/var/lib/grafana/dashboards:ro',
            ],
          },
          tempo: {
            image: IMAGES.tempo,
            command: ['-config.file=/etc/tempo.yml'],
            volumes: ['./tempo.yml:/etc/tempo.yml:ro'],
          },
          'otel-collector': {
            image: IMAGES.collector,
            command: ['--config=/etc/otelcol/config.yml'],
            volumes: ['./otel-collector.yml:/etc/otelcol/config.yml:ro'],
          },
        },
        volumes: { [`${svc}-data`]: {} },
      },
      '# export SECRET_KEY=... METRICS_TOKEN="$(cat secrets/metrics-token)"; docker compose up\n',
    ),
  )
  files.set(
    'helm/values.yaml',
    yaml(
      cmd,
      {
        replicaCount: 3,
        image: { repository: svc, tag: 'latest', pullPolicy: 'IfNotPresent' },
        containerPort: config.port,
        service: { type: 'ClusterIP', port: config.port },
        resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } },
        // Liveness never checks dependencies (a slow database must not restart every pod);
        // readiness does, and turns 503 during the shutdown drain.
        livenessProbe: {
          httpGet: { path: '/healthz', port: 'http' },
          periodSeconds: 10,
          timeoutSeconds: 2,
          failureThreshold: 3,
        },
        readinessProbe: {
          httpGet: { path: '/readyz', port: 'http' },
          periodSeconds: 5,
          timeoutSeconds: 2,
          failureThreshold: 2,
        },
        startupProbe: {
          httpGet: { path: '/healthz', port: 'http' },
          periodSeconds: 2,
          failureThreshold: 30,
        },
        terminationGracePeriodSeconds: 30,
        podDisruptionBudget: { minAvailable: 2 },
        podAnnotations: {
          'prometheus.io/scrape': 'true',
          'prometheus.io/path': '/metrics',
          'prometheus.io/port': String(config.port),
        },
        securityContext: {
          runAsNonRoot: true,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
        },
        persistence: { enabled: true, mountPath: '/data', size: '10Gi' },
        env,
        // Secret variables come from a Kubernetes Secret (key = variable name), never from values.
        secretEnv: { secretName: `${svc}-secrets`, keys: [...SECRET_VARS] },
      },
      "# Helm values with production settings; every variable of Rampart's configuration appears under env or secretEnv.\n",
    ),
  )
  files.set(
    'secrets/.gitignore',
    '# Secrets for the bundle (e.g. metrics-token); never commit them.\n*\n!.gitignore\n',
  )
  files.set('runbook.md', renderRunbook(config))
  return files
}
