import type { SloConfig } from '../slo/options.js'
import { probeJob, probeModule, probeTargets } from '../slo/probe.js'

/** Where Prometheus reaches the blackbox exporter inside the bundle. */
export const BLACKBOX_ADDRESS = 'blackbox:9115'

const http = {
  method: 'GET',
  valid_status_codes: [200],
  // A redirect to a login page answers 200 too: /healthz and /readyz never redirect.
  follow_redirects: false,
  preferred_ip_protocol: 'ip4',
}

/**
 * The exporter's `blackbox.yml`: HTTP GET expecting a 200, and the same over HTTPS that also
 * fails on plain HTTP and verifies the certificate (whose expiry it then reports as
 * `probe_ssl_earliest_cert_expiry`).
 */
export function blackboxConfig() {
  return {
    modules: {
      http_2xx: { prober: 'http', timeout: '5s', http },
      https_2xx: {
        prober: 'http',
        timeout: '5s',
        http: { ...http, fail_if_not_ssl: true, tls_config: { insecure_skip_verify: false } },
      },
    },
  }
}

/**
 * The Prometheus job that has the exporter probe the service's `/healthz` and `/readyz`: the
 * usual relabelling, where each target URL becomes the exporter's `target` parameter and the
 * `instance` label, and the exporter is the address scraped.
 */
export function probeScrapeConfig(config: SloConfig, exporter = BLACKBOX_ADDRESS) {
  return {
    job_name: probeJob(config),
    metrics_path: '/probe',
    params: { module: [probeModule(config)] },
    static_configs: [{ targets: probeTargets(config) }],
    relabel_configs: [
      { source_labels: ['__address__'], target_label: '__param_target' },
      { source_labels: ['__param_target'], target_label: 'instance' },
      { target_label: '__address__', replacement: exporter },
    ],
  }
}
