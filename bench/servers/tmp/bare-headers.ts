import Fastify from 'fastify'
import { jsonRoutes } from '../routes.js'

const headers: Record<string, string> = {
  'x-request-id': 'fd6fb4bf-300e-499a-961e-e528becb73b7',
  'content-security-policy':
    "default-src 'self';base-uri 'self';connect-src 'self';font-src 'self';form-action 'self';frame-ancestors 'none';img-src 'self' data:;object-src 'none';script-src 'self';script-src-attr 'none';style-src 'self' 'sha256-De/PyNxTvw8ChU4CYqW7zjKzhtiu/ICNPO2CZ5GhRCw=';upgrade-insecure-requests",
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'DENY',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
  'ratelimit-policy': '"read";q=300;w=60',
  ratelimit: '"read";r=299;t=60',
}
export default async function build() {
  const app = Fastify({ logger: false })
  if (process.env.HDRS)
    app.addHook('onRequest', (_q, reply, done) => {
      reply.headers(headers)
      done()
    })
  jsonRoutes(app)
  return app
}
