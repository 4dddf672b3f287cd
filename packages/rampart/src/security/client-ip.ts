import { BlockList, isIP } from 'node:net'

/** Resolves the client address of a request from its socket address and `X-Forwarded-For`. */
export type ClientIpResolver = (
  socketAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
) => string | undefined

/** `::ffff:10.0.0.1` → `10.0.0.1`, so IPv4 CIDRs match IPv4 clients on a dual-stack socket. */
export function normalizeIp(address: string): string {
  const lower = address.trim().toLowerCase()
  if (lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4) return lower.slice(7)
  return lower
}

/**
 * Builds the resolver for `TRUSTED_PROXIES` (CIDRs, already validated by the config). Node's
 * `net.BlockList` does the CIDR matching, so there is no dependency and no hand-written bit
 * arithmetic.
 *
 * The rule (the one `proxy-addr` and Express's `trust proxy` apply): start at the socket
 * address; while the current hop is a trusted proxy, step one entry to the left in
 * `X-Forwarded-For`. The first untrusted hop is the client. An entry that is not an IP address
 * stops the walk at the proxy that forwarded it. With no trusted proxies the header is never
 * read, so a spoofed `X-Forwarded-For` changes nothing.
 *
 * @example
 * const clientIp = createClientIpResolver(['127.0.0.1/32'])
 * clientIp('127.0.0.1', '203.0.113.9, 198.51.100.7') // '198.51.100.7'
 */
export function createClientIpResolver(trustedProxies: readonly string[]): ClientIpResolver {
  if (trustedProxies.length === 0) {
    // A keep-alive connection hands the same address string to each of its requests.
    let lastAddress: string | undefined
    let lastClient: string | undefined
    return (socketAddress) => {
      if (socketAddress !== lastAddress) {
        lastAddress = socketAddress
        lastClient = socketAddress === undefined ? undefined : normalizeIp(socketAddress)
      }
      return lastClient
    }
  }
  const trusted = new BlockList()
  for (const cidr of trustedProxies) {
    const [address = '', bits] = cidr.split('/')
    const ip = normalizeIp(address)
    const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4'
    const prefix = bits === undefined ? (family === 'ipv6' ? 128 : 32) : Number(bits)
    trusted.addSubnet(ip, prefix, family)
  }
  const isTrusted = (ip: string): boolean => {
    const family = isIP(ip)
    return family !== 0 && trusted.check(ip, family === 6 ? 'ipv6' : 'ipv4')
  }
  return (socketAddress, forwardedFor) => {
    if (socketAddress === undefined) return undefined
    let client = normalizeIp(socketAddress)
    if (!isTrusted(client) || forwardedFor === undefined) return client
    const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor
    // Bounded: at most 64 hops are looked at, from the right.
    const hops = header.split(',').slice(-64)
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normalizeIp(hops[i] ?? '')
      if (isIP(hop) === 0) break
      client = hop
      if (!isTrusted(hop)) break
    }
    return client
  }
}
