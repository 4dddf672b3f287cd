import { defineConfig } from 'rampart'

/**
 * airlock's SLOs (docs/airlock.md), read by `rampart slo rules`, `rampart dashboard` and
 * `rampart ops init` (run from this directory or with `--config`), which generate ../../ops/.
 */
export default defineConfig({
  service: 'airlock',
  // Every route airlock serves (HEAD aside): the CLI refuses an SLO on any other, and airlock
  // refuses to start if this list and its real routes differ.
  routes: [
    'GET /',
    'GET /login',
    'POST /login',
    'POST /logout',
    'GET /requests',
    'POST /requests',
    'GET /requests/new',
    'GET /requests/:id',
    'POST /requests/:id/files',
    'POST /requests/:id/submit',
    'POST /requests/:id/approve',
    'POST /requests/:id/reject',
    'GET /admin/users',
    'POST /admin/users',
    'POST /api/v1/tokens',
    'GET /api/v1/requests',
    'POST /api/v1/requests',
    'GET /api/v1/requests/:id',
    'POST /api/v1/requests/:id/files',
    'POST /api/v1/requests/:id/submit',
    'POST /api/v1/requests/:id/approve',
    'POST /api/v1/requests/:id/reject',
    'GET /static/airlock.css',
  ],
  // airlock's own counters (src/support/business-metrics.ts), drawn on the dashboard.
  businessMetrics: [
    { name: 'airlock_requests_submitted_total', title: 'Requests submitted', by: ['direction'] },
    { name: 'airlock_requests_approved_total', title: 'Requests approved', by: ['direction'] },
    { name: 'airlock_requests_rejected_total', title: 'Requests rejected', by: ['direction'] },
    { name: 'airlock_login_attempts_total', title: 'Login attempts', by: ['ok'], row: 'auth' },
  ],
  slos: [
    {
      name: 'login-latency',
      description: 'Logging in is fast: 95 % of POST /login answered within 500 ms.',
      kind: 'latency',
      route: 'POST /login',
      thresholdSeconds: 0.5,
      objective: 95,
      window: '30d',
    },
    {
      name: 'request-list-latency',
      description: 'The API lists requests fast: p99 of GET /api/v1/requests under 200 ms.',
      kind: 'latency',
      route: 'GET /api/v1/requests',
      thresholdSeconds: 0.2,
      objective: 99,
      window: '30d',
    },
    {
      name: 'login-success',
      description: '90 % of password checks succeed; fewer means broken logins or an attack.',
      kind: 'ratio',
      good: 'airlock_login_attempts_total{ok="true"}',
      total: 'airlock_login_attempts_total',
      objective: 90,
      window: '30d',
    },
    {
      name: 'availability',
      description: '99.9 % of all requests answered without a server error.',
      kind: 'availability',
      objective: 99.9,
      window: '30d',
    },
    {
      name: 'scans-start',
      description: 'Output checks start promptly: 99 % of scans start within 30 s of the upload.',
      kind: 'jobs',
      queue: 'scans',
      waitSeconds: 30,
      objective: 99,
      window: '30d',
    },
    {
      name: 'scans-succeed',
      description: '99.5 % of output checks finish without failing for good.',
      kind: 'jobs',
      queue: 'scans',
      objective: 99.5,
      window: '30d',
    },
  ],
  // The scan worker process (`npm run worker -w airlock`; in the image, dist/src/worker.js):
  // the ops bundle runs it and scrapes it as airlock-worker. Both processes share the queue in
  // Redis, and the web process leaves scans to the worker.
  worker: {
    port: 3001,
    command: ['node', '--import', 'rampart/otel', 'dist/src/worker.js'],
    env: { REDIS_URL: 'redis://redis:6379', AIRLOCK_WORKER: 'off' },
  },
})
