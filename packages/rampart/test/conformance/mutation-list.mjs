// The mutations `mutations.mjs` applies, one at a time: each removes ONE piece of wiring.
// { adapter, feature, file, find, replace, files? } — `find` must occur exactly once in `file`;
// `files` narrows the suite run to the test files that can see the feature (default: the main
// conformance file), so a run stays short.
const FASTIFY = 'packages/rampart/src/adapters/fastify'
const EXPRESS = 'packages/rampart/src/adapters/express'
const FEATURES = 'packages/rampart/src/core/features.ts'
const TRACING = ['packages/rampart/test/conformance/tracing.test.ts']
const ERRORS = ['packages/rampart/test/conformance/error-tracking.test.ts']

/** Each feature taken out of the ordered list both adapters mount (core/features.ts). */
const features = [
  ['request context + access log', '    context,\n'],
  ['tracing', '    tracing,\n', TRACING],
  ['error tracking', '    errors,\n', ERRORS],
  ['RED metrics + /metrics', '    metricsFeature(core, red),\n'],
  ['SLO', '    sloFeature(core, slo, red),\n'],
  ['health', '    healthFeature(core),\n'],
  ['console', '    consoleFeature(core, slo),\n'],
  ['security', '    securityFeature(core),\n'],
  ['CSRF', '    csrf,\n'],
  ['rate limit', '    rateLimitFeature(core, limiter),\n'],
  ['audit', '    auditFeature(core),\n'],
]

/** The Fastify adapter's own wiring: each pipeline point mapped onto a hook, and the server pieces. */
const fastify = [
  ['translate: start (onRequest)', 'translate.ts', '    pipeline.start(ex)\n', ''],
  ['translate: guards', 'translate.ts', 'pipeline.hasGuards ? guarded(ex, done) : done', 'done'],
  [
    'translate: end (onResponse)',
    'translate.ts',
    '    pipeline.end(request.rampart, reply.statusCode, reply.elapsedTime / 1000)\n',
    '',
  ],
  [
    'translate: abort (raw close)',
    'translate.ts',
    "    reply.raw.on('close', () => pipeline.closed(ex, reply.elapsedTime / 1000))\n",
    '',
  ],
  ['translate: beforeSend (app onSend)', 'translate.ts', '    pipeline.beforeSend(ex)\n', ''],
  // `failed` feeds error tracking: its tests are in the error-tracking suite.
  [
    'translate: failed (onError)',
    'translate.ts',
    '  if (pipeline.hasFailed)\n',
    '  if (false)\n',
    ERRORS,
  ],
  [
    'translate: route hooks (all)',
    'translate.ts',
    '    for (const h of pipeline.route(spec)) attach(route, h)\n',
    '',
  ],
  ['translate: route beforeBody', 'translate.ts', '    if (beforeBody)\n', '    if (false)\n'],
  ['translate: route body', 'translate.ts', '    if (body)\n', '    if (false)\n'],
  [
    'translate: route beforeValidation',
    'translate.ts',
    '    if (beforeValidation)\n',
    '    if (false)\n',
  ],
  [
    'translate: route beforeHandler',
    'translate.ts',
    '    if (beforeHandler)\n',
    '    if (false)\n',
  ],
  ['translate: route beforeSend', 'translate.ts', '    if (beforeSend)\n', '    if (false)\n'],
  ['translate: route after', 'translate.ts', '    if (after)\n', '    if (false)\n'],
  [
    'translate: served routes',
    'translate.ts',
    '  for (const served of pipeline.served) serve(app, served)\n',
    '',
  ],
  [
    'translate: ready (onReady)',
    'translate.ts',
    "  app.addHook('onReady', () => pipeline.ready())\n",
    '',
  ],
  ['translate: error handler', 'translate.ts', '  app.setErrorHandler(answerError)\n', ''],
  [
    'translate: not-found handler',
    'translate.ts',
    '  app.setNotFoundHandler((request, reply) => answerError(new HttpError(404), request, reply))\n',
    '',
  ],
  [
    'translate: helmet route option',
    'translate.ts',
    '    if (helmet !== undefined) route.config',
    '    if (false) route.config',
  ],
  [
    'translate: MAX_BODY_KB per route',
    'translate.ts',
    '    route.bodyLimit ??= core.limits.bodyBytes\n',
    '',
  ],
  [
    'server: raw answers (parser errors, 503 while closing)',
    'server.ts',
    '  const markClosing = takeOverServer(app.server, raw, answerClosing)\n',
    '  const markClosing = () => {}\n',
  ],
  [
    'server: graceful shutdown',
    'server.ts',
    '  if (shutdown !== undefined) {\n',
    '  if (false) {\n',
  ],
  [
    'server: timeouts',
    'server.ts',
    '    applyServerTimeouts(app.server, core.config.timeouts)\n',
    '',
  ],
]

/** The Express adapter's own wiring (pipeline.ts: middleware, route hook, response hooks, error
 * middleware; server.ts: Node's server; index.ts: what `listen` mounts), as h2 listed it. */
const express = [
  ['start', 'pipeline.ts', '        this.#pipeline.start(ex)\n', ''],
  ['guards', 'pipeline.ts', 'refused = this.#pipeline.guard(ex)', 'refused = undefined'],
  ['end', 'pipeline.ts', '    this.#pipeline.end(ex, status, seconds)\n', ''],
  ['closed (abort, cut off)', 'pipeline.ts', '      this.#pipeline.closed(ex, seconds)\n', ''],
  ['failed', 'pipeline.ts', '    this.#pipeline.failed(ex, err, out?.status ?? 500)\n', '', ERRORS],
  ['beforeSend (every answer)', 'pipeline.ts', '      this.#pipeline.beforeSend(ex)\n', ''],
  [
    'route beforeSend',
    'pipeline.ts',
    '      if (hooks !== undefined) for (const hook of hooks.beforeSend) hook(ex)\n',
    '',
  ],
  [
    'route after',
    'pipeline.ts',
    '    if (hooks !== undefined) for (const hook of hooks.after) hook(ex, status)\n',
    '',
  ],
  [
    'route beforeBody',
    'pipeline.ts',
    'const before = runHooks(hooks.beforeBody, ex, undefined)',
    'const before: Verdict = undefined',
  ],
  [
    'route body',
    'pipeline.ts',
    '    for (const wrap of hooks.body) stream = wrap(ex, stream)\n',
    '',
  ],
  [
    'route beforeValidation',
    'pipeline.ts',
    'const first = runHooks(hooks.beforeValidation, ex, body)',
    'const first: Verdict = undefined',
  ],
  [
    'route beforeHandler',
    'pipeline.ts',
    'return first ?? runHooks(hooks.beforeHandler, ex, body)',
    'return first',
  ],
  ['body parsing', 'pipeline.ts', '      req.body = body\n', ''],
  [
    'routes matched ahead',
    'pipeline.ts',
    'const seen = this.#match(ex.path, ex.method)',
    'const seen = undefined as SeenRoute | undefined',
  ],
  [
    'served routes',
    'pipeline.ts',
    '      else if (served !== undefined) void this.#serve(ex, served, next)\n',
    '',
  ],
  ['csrfToken', 'pipeline.ts', 'return csrf.csrfToken(ex, sessionId)', "return ''"],
  [
    'not-found and error handlers',
    'index.ts',
    '        app.use(pipeline.notFound, pipeline.errorHandler)\n',
    '',
  ],
  [
    'raw/server answers',
    'server.ts',
    'const markClosing = takeOverServer(server, raw)',
    'const markClosing = () => {}',
  ],
  ['server timeouts', 'server.ts', '  applyServerTimeouts(server, core.config.timeouts)\n', ''],
  [
    'graceful shutdown',
    'server.ts',
    "  if (server.listening) shutdown.arm()\n  else server.once('listening', () => shutdown.arm())\n",
    '',
  ],
]

export const MUTATIONS = [
  ...['fastify', 'express'].flatMap((adapter) =>
    features.map(([feature, find, files]) => ({
      adapter,
      feature: `feature: ${feature}`,
      file: FEATURES,
      find,
      replace: '',
      files,
    })),
  ),
  ...fastify.map(([feature, file, find, replace, files]) => ({
    adapter: 'fastify',
    feature,
    file: `${FASTIFY}/${file}`,
    find,
    replace,
    files,
  })),
  ...express.map(([feature, file, find, replace, files]) => ({
    adapter: 'express',
    feature,
    file: `${EXPRESS}/${file}`,
    find,
    replace,
    files,
  })),
]
