/** Images the deploy files run; pinned so the bundle behaves the same everywhere. */
export const IMAGES = {
  prometheus: 'prom/prometheus:v2.53.2',
  alertmanager: 'prom/alertmanager:v0.27.0',
  blackbox: 'prom/blackbox-exporter:v0.25.0',
  grafana: 'grafana/grafana:11.2.0',
  tempo: 'grafana/tempo:2.6.0',
  collector: 'otel/opentelemetry-collector-contrib:0.109.0',
  postgres: 'postgres:17.2-alpine',
  redis: 'redis:7.4.1-alpine',
} as const
