import { createHash } from 'node:crypto'
import { isIPv4, isIPv6 } from 'node:net'

/** Who a request is counted against. */
export interface Subject {
  /**
   * The metric label: `principal` for the authenticated user, `ip` for the client address
   * (with the target account, on credential policies), `custom` for a service's key function.
   */
  readonly scope: 'principal' | 'ip' | 'custom'
  /** The hashed identity; never the raw user id or address. */
  readonly id: string
}

/** Expands an IPv6 address (`::`, an IPv4 tail, a `%zone`) into its eight 16-bit groups. */
function ipv6Groups(address: string): number[] | undefined {
  const zone = address.indexOf('%')
  let text = zone === -1 ? address : address.slice(0, zone)
  let tail: number[] = []
  const lastColon = text.lastIndexOf(':')
  const v4 = text.slice(lastColon + 1)
  if (v4.includes('.')) {
    const parts = v4.split('.').map(Number)
    tail = [((parts[0] ?? 0) << 8) | (parts[1] ?? 0), ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)]
    text = `${text.slice(0, lastColon + 1)}0:0`
    tail = tail.length === 2 ? tail : []
  }
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const head = halves[0] ? halves[0].split(':') : []
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : []
  const fill = halves.length === 2 ? 8 - head.length - rest.length : 0
  const groups = [...head, ...new Array<string>(fill).fill('0'), ...rest].map((g) =>
    Number.parseInt(g, 16),
  )
  if (groups.length !== 8 || groups.some((g) => Number.isNaN(g))) return undefined
  if (tail.length === 2) {
    groups[6] = tail[0] as number
    groups[7] = tail[1] as number
  }
  return groups
}

/**
 * The part of a client address that identifies one client for rate limiting: the whole IPv4
 * address, or the /64 network of an IPv6 address (one subscriber usually holds a whole /64, so
 * keying on full addresses would hand out 2^64 budgets). IPv4-mapped IPv6 (`::ffff:1.2.3.4`)
 * counts as its IPv4 address.
 *
 * @example
 * clientBucket('2001:db8:1:2:aaaa::1') // '2001:db8:1:2::/64'
 * clientBucket('::ffff:192.0.2.7')     // '192.0.2.7'
 */
export function clientBucket(address: string): string {
  if (isIPv4(address)) return address
  if (!isIPv6(address)) return address
  const g = ipv6Groups(address)
  if (g === undefined) return address
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    const a = g[6] as number
    const b = g[7] as number
    return `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`
  }
  return `${g
    .slice(0, 4)
    .map((x) => x.toString(16))
    .join(':')}::/64`
}

/**
 * Whom to count a request against: the authenticated principal when there is one, else the
 * client address (grouped as in `clientBucket`). Both are hashed (SHA-256, first 128 bits,
 * base64url) so that neither user ids nor addresses end up in the store.
 *
 * @example
 * subjectOf('u-42', '203.0.113.9') // { scope: 'principal', id: '…' }
 * subjectOf(undefined, '203.0.113.9') // { scope: 'ip', id: '…' }
 */
export function subjectOf(userId: string | undefined, clientIp: string | undefined): Subject {
  if (userId !== undefined && userId !== '') {
    return (
      principals.get(userId) ??
      principals.remember(userId, { scope: 'principal', id: digest(`u\0${userId}`) })
    )
  }
  const ip = clientIp ?? 'unknown'
  return (
    addresses.get(ip) ??
    addresses.remember(ip, { scope: 'ip', id: digest(`i\0${clientBucket(ip)}`) })
  )
}

/**
 * Whom a credential check is counted against: the client address (grouped as in
 * `clientBucket`) and, when the route names one, the target account; never the caller's own
 * principal, which an attacker can change at will (a fresh budget per account they hold).
 *
 * @example
 * addressSubject('203.0.113.9', 'admin') // { scope: 'ip', id: '…' }
 */
export function addressSubject(clientIp: string | undefined, account?: string): Subject {
  if (account === undefined || account === '') return subjectOf(undefined, clientIp)
  return { scope: 'ip', id: digest(`i\0${clientBucket(clientIp ?? 'unknown')}\0a\0${account}`) }
}

/** The subject of a service's own key function: its value, hashed. */
export function customSubject(value: string): Subject {
  return { scope: 'custom', id: digest(`c\0${value}`) }
}

/**
 * Hashing costs ~1 µs and a client sends many requests: the subjects of recent clients are kept
 * in two generations of at most `MEMO_GENERATION` entries (a bounded LRU approximation, O(1)),
 * keyed by the user id or address as given, so a lookup builds no string.
 */
const MEMO_GENERATION = 10_000
class SubjectMemo {
  #recent = new Map<string, Subject>()
  #older = new Map<string, Subject>()

  get(raw: string): Subject | undefined {
    const subject = this.#recent.get(raw)
    if (subject !== undefined) return subject
    const old = this.#older.get(raw)
    return old === undefined ? undefined : this.remember(raw, old)
  }

  remember(raw: string, subject: Subject): Subject {
    if (this.#recent.size >= MEMO_GENERATION) {
      this.#older = this.#recent
      this.#recent = new Map()
    }
    this.#recent.set(raw, subject)
    return subject
  }
}
const principals = new SubjectMemo()
const addresses = new SubjectMemo()

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 22)
}

/**
 * The store key of one bucket: policy, route template and subject; never the raw path or the
 * method, so `/items/1`, `/items/2/` and HEAD versus GET all land in the route's one bucket.
 *
 * @example
 * bucketKey('read', '/items/:id', subjectOf('u-42', undefined)) // 'read:/items/:id:p:…'
 */
export function bucketKey(policy: string, route: string, subject: Subject): string {
  // Remembered per subject (subjects are memoised, so this is bounded with them): the same
  // client on the same route asks for the same key, and a key built anew would be hashed anew
  // by the store's map.
  const cache = (subject as CachedKeys)[KEYS]
  const byRoute = cache?.get(policy)
  const known = byRoute?.get(route)
  if (known !== undefined) return known
  const key = `${policy}:${route}:${subject.scope[0]}:${subject.id}`
  if (cache === undefined) {
    Object.defineProperty(subject, KEYS, { value: new Map([[policy, new Map([[route, key]])]]) })
  } else if (byRoute === undefined) cache.set(policy, new Map([[route, key]]))
  else if (byRoute.size < 1000) byRoute.set(route, key)
  return key
}

const KEYS = Symbol('rampart.ratelimit.keys')
type CachedKeys = Subject & { [KEYS]?: Map<string, Map<string, string>> }
