import type { RouteOptions } from 'fastify'

/** The HTTP methods a route answers, whether it was declared with one or several. */
export function methodsOf(route: RouteOptions): string[] {
  return [route.method].flat()
}

/**
 * Puts `hook` first among a route's own `name` hooks (route-level hooks run only for that route,
 * so a capability that matters only to some routes costs the others no dispatch), keeping any
 * the route declared itself.
 */
export function prependRouteHook<K extends 'preParsing' | 'preValidation' | 'onSend'>(
  route: RouteOptions,
  name: K,
  // One hook of that kind (the option takes one or an array).
  hook: Extract<NonNullable<RouteOptions[K]>, (...args: never[]) => unknown>,
): void {
  const own = route[name]
  route[name] = [hook, ...(own === undefined ? [] : [own].flat())] as RouteOptions[K]
}

/**
 * Puts `hook` last among a route's own `name` hooks: route-level hooks run after every
 * app-wide one, so it sees what plugins registered after Rampart did (e.g. a cookie plugin's
 * `Set-Cookie`, written in its own `onSend`).
 */
export function appendRouteHook<K extends 'onSend'>(
  route: RouteOptions,
  name: K,
  hook: Extract<NonNullable<RouteOptions[K]>, (...args: never[]) => unknown>,
): void {
  const own = route[name]
  route[name] = [...(own === undefined ? [] : [own].flat()), hook] as RouteOptions[K]
}
