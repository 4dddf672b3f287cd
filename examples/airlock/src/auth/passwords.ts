import { hash, verify } from '@node-rs/argon2'
import { withSpan } from 'rampart'

// @node-rs/argon2 defaults to argon2id; these are OWASP's baseline parameters (19 MiB, 2 passes,
// 1 lane): about 20-40 ms per hash on one core. (`Algorithm` is a const enum, which
// `verbatimModuleSyntax` cannot import, so the default algorithm is relied on and tested.)
const PARAMS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 }

/** Hashes a password with argon2id (PHC string with salt and parameters). */
export function hashPassword(password: string): Promise<string> {
  return hash(password, PARAMS)
}

// Verified against when the user does not exist, so an unknown name costs as much as a wrong
// password and response time does not reveal which names exist.
let dummyHash: Promise<string> | undefined

/**
 * Checks a password in the `auth.argon2_verify` span. `passwordHash` undefined (unknown user)
 * still spends one verification and answers false.
 */
export function verifyPassword(
  passwordHash: string | undefined,
  password: string,
): Promise<boolean> {
  return withSpan('auth.argon2_verify', { 'auth.algorithm': 'argon2id' }, async () => {
    if (passwordHash === undefined) {
      dummyHash ??= hashPassword('airlock-no-such-user')
      await verify(await dummyHash, password)
      return false
    }
    try {
      return await verify(passwordHash, password)
    } catch {
      return false
    }
  })
}
