import { describe, expect, it } from 'vitest'
import { bucketKey, clientBucket, subjectOf } from '../../src/ratelimit/index.js'

describe('client keys', () => {
  it('groups IPv6 by /64 whatever the notation', () => {
    const same = [
      '2001:db8:1:2::1',
      '2001:0db8:0001:0002:ffff:ffff:ffff:ffff',
      '2001:DB8:1:2:0:0:0:9',
      '2001:db8:1:2::1%eth0',
      '2001:db8:1:2::192.0.2.1',
    ]
    for (const ip of same) expect(clientBucket(ip)).toBe('2001:db8:1:2::/64')
    expect(clientBucket('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64')
    expect(clientBucket('::1')).toBe('0:0:0:0::/64')
  })

  it('keeps IPv4 whole and reads IPv4-mapped IPv6 as IPv4', () => {
    expect(clientBucket('192.0.2.7')).toBe('192.0.2.7')
    expect(clientBucket('::ffff:192.0.2.7')).toBe('192.0.2.7')
    expect(clientBucket('::ffff:c000:207')).toBe('192.0.2.7')
  })

  it('hashes principals and addresses; never stores them raw', () => {
    const p = subjectOf('alice@example.com', '192.0.2.7')
    expect(p.scope).toBe('principal')
    expect(p.id).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(p.id).not.toContain('alice')
    const i = subjectOf(undefined, '192.0.2.7')
    expect(i.scope).toBe('ip')
    expect(i.id).not.toBe(p.id)
    // A user id that equals an address does not share the address's bucket.
    expect(subjectOf('192.0.2.7', undefined).id).not.toBe(i.id)
    expect(bucketKey('auth', '/login', i)).toBe(`auth:/login:i:${i.id}`)
  })
})
