import { defineConfig } from 'rampart'

/**
 * airlock's SLOs (DESIGN §13), read by `rampart slo rules`, `rampart dashboard` and
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
  // `npm run worker -w airlock`: the scan worker process, scraped as airlock-worker.
  worker: { port: 3001 },
})
