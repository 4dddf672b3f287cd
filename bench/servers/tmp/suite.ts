import { runHttpSuite } from '../../lib/http-suite.js'

const v = (name: string, PARTS: string) => ({
  name,
  server: 'tmp/logparts.ts',
  env: { PARTS, SECRET_KEY: 'b'.repeat(40) },
})
const r = await runHttpSuite({
  name: 'logparts',
  description: '',
  baseline: 'bare',
  variants: [
    { name: 'bare', server: 'fastify-bare.ts' },
    v('als+hdr', ''),
    v('+ctx', 'ctx'),
    v('+ctx+route', 'ctx,route'),
    v('+ctx+route+line', 'ctx,route,line'),
    {
      name: 'logging only',
      server: 'fastify-rampart-pillars.ts',
      env: { SECRET_KEY: 'b'.repeat(40) },
    },
  ],
  request: { path: '/items/1' },
})
console.log(r.markdown)
