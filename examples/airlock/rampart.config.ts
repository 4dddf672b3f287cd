import { defineConfig } from 'rampart'

/**
 * airlock's SLOs (DESIGN §13), read by `rampart slo rules`, `rampart dashboard` and
 * `rampart ops init` (run from this directory or with `--config`), which generate ../../ops/.
 */
export default defineConfig({
  service: 'airlock',
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
  ],
})
