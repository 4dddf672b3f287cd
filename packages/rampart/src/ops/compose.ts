import type { SloConfig } from '../slo/options.js'
import { productionEnv, SHARED_STORES } from './env.js'
import { IMAGES } from './images.js'

/** `${NAME:?why}`: compose refuses to start when the variable is unset. */
const composeVar = (name: string, why: string) => `\${${name}:?${why}}`

/** A healthcheck running `argv` in the container (exec form: no shell needed). */
const check = (argv: string[], interval = '10s') => ({
  test: ['CMD', ...argv],
  interval,
  timeout: '5s',
  retries: 5,
  start_period: '20s',
})
/** An HTTP check for images with busybox's wget (Prometheus, Alertmanager, Grafana, Tempo). */
const httpCheck = (url: string) => check(['wget', '-q', '-O', '/dev/null', url])

/**
 * The compose file: the service built from the Dockerfile next to `ops/` with PostgreSQL, Redis,
 * Prometheus, Alertmanager, Grafana, Tempo and the collector. Every service has a healthcheck and
 * the service starts only once its database, Redis and collector are healthy.
 */
export function composeFile(config: SloConfig): Record<string, unknown> {
  const svc = config.service
  const env = productionEnv(config)
  const dbUrl = `postgres://${svc}:\${POSTGRES_PASSWORD}@${SHARED_STORES.postgresHost}/${svc}`
  const healthy = { condition: 'service_healthy' }
  const worker = config.worker?.command === undefined ? undefined : config.worker
  const environment = {
    ...Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')),
    HOST: '0.0.0.0',
    PORT: String(config.port),
    // The service's own data and the audit log share one PostgreSQL database.
    DATABASE_URL: dbUrl,
    AUDIT_DB: dbUrl,
    SECRET_KEY: composeVar('SECRET_KEY', 'set SECRET_KEY (32+ bytes)'),
    METRICS_TOKEN: composeVar(
      'METRICS_TOKEN',
      'set METRICS_TOKEN to the content of secrets/metrics-token',
    ),
  }
  const readyCheck = (port: number) =>
    check([
      'node',
      '-e',
      `fetch('http://127.0.0.1:${port}/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`,
    ])
  return {
    name: `${svc}-ops`,
    services: {
      [svc]: {
        build: { context: '..', dockerfile: 'Dockerfile' },
        image: `${svc}:latest`,
        ports: [`127.0.0.1:${config.port}:${config.port}`],
        environment,
        read_only: true,
        tmpfs: ['/tmp'],
        volumes: [`${svc}-data:/data`],
        depends_on: { postgres: healthy, redis: healthy, 'otel-collector': healthy },
        healthcheck: readyCheck(config.port),
      },
      // The worker process: the same image, settings and uploads volume, its own command; its
      // /metrics, /healthz and /readyz on the worker port (scraped as `<service>-worker`).
      ...(worker === undefined
        ? {}
        : {
            [`${svc}-worker`]: {
              image: `${svc}:latest`,
              command: worker.command,
              environment: { ...environment, WORKER_PORT: String(worker.port) },
              read_only: true,
              tmpfs: ['/tmp'],
              volumes: [`${svc}-data:/data`],
              depends_on: { [svc]: healthy, redis: healthy },
              healthcheck: readyCheck(worker.port),
            },
          }),
      postgres: {
        image: IMAGES.postgres,
        environment: {
          POSTGRES_USER: svc,
          POSTGRES_DB: svc,
          POSTGRES_PASSWORD: composeVar('POSTGRES_PASSWORD', 'set POSTGRES_PASSWORD'),
        },
        volumes: ['postgres-data:/var/lib/postgresql/data'],
        healthcheck: check(['pg_isready', '-U', svc, '-d', svc], '5s'),
      },
      redis: {
        image: IMAGES.redis,
        command: ['redis-server', '--save', '', '--appendonly', 'no'],
        healthcheck: check(['redis-cli', 'ping'], '5s'),
      },
      prometheus: {
        image: IMAGES.prometheus,
        command: [
          '--config.file=/etc/prometheus/prometheus.yml',
          '--storage.tsdb.path=/prometheus',
          '--web.external-url=http://localhost:9090',
          // Keeps the exemplars scraped from /metrics (OpenMetrics) for the dashboards.
          '--enable-feature=exemplar-storage',
        ],
        ports: ['127.0.0.1:9090:9090'],
        volumes: [
          './prometheus.yml:/etc/prometheus/prometheus.yml:ro',
          './rules:/etc/prometheus/rules:ro',
          './secrets:/etc/prometheus/secrets:ro',
        ],
        depends_on: { alertmanager: healthy },
        healthcheck: httpCheck('http://127.0.0.1:9090/-/ready'),
      },
      blackbox: {
        image: IMAGES.blackbox,
        command: ['--config.file=/etc/blackbox/blackbox.yml'],
        volumes: ['./blackbox.yml:/etc/blackbox/blackbox.yml:ro'],
        healthcheck: httpCheck('http://127.0.0.1:9115/-/healthy'),
      },
      alertmanager: {
        image: IMAGES.alertmanager,
        command: ['--config.file=/etc/alertmanager/alertmanager.yml', '--cluster.listen-address='],
        ports: ['127.0.0.1:9093:9093'],
        volumes: ['./alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro'],
        healthcheck: httpCheck('http://127.0.0.1:9093/-/ready'),
      },
      grafana: {
        image: IMAGES.grafana,
        ports: ['127.0.0.1:3001:3000'],
        environment: { GF_AUTH_ANONYMOUS_ENABLED: 'false' },
        volumes: [
          './grafana/provisioning:/etc/grafana/provisioning:ro',
          './grafana/dashboards:/var/lib/grafana/dashboards:ro',
        ],
        depends_on: { prometheus: healthy, tempo: healthy },
        healthcheck: httpCheck('http://127.0.0.1:3000/api/health'),
      },
      tempo: {
        image: IMAGES.tempo,
        command: ['-config.file=/etc/tempo.yml'],
        volumes: ['./tempo.yml:/etc/tempo.yml:ro'],
        healthcheck: httpCheck('http://127.0.0.1:3200/ready'),
      },
      'otel-collector': {
        image: IMAGES.collector,
        command: ['--config=/etc/otelcol/config.yml'],
        volumes: ['./otel-collector.yml:/etc/otelcol/config.yml:ro'],
        depends_on: { tempo: healthy },
        // The collector image has no shell and no HTTP client; the check runs the binary's own
        // config validation (its health_check extension also answers on :13133 for a probe).
        healthcheck: check(['/otelcol-contrib', 'validate', '--config=/etc/otelcol/config.yml']),
      },
    },
    volumes: { [`${svc}-data`]: {}, 'postgres-data': {} },
  }
}
