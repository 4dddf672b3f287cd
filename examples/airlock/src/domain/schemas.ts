import { HttpError } from 'rampart'
import { z } from 'zod'
import { DIRECTIONS, ROLES } from '../db/schema.js'

const text = (field: string, max: number) =>
  z
    .string({ error: `${field} is required` })
    .trim()
    .min(1, `${field} is required`)
    .max(max, `${field} must be at most ${max} characters`)

export const newRequestSchema = z.object({
  title: text('Title', 200),
  direction: z.enum(DIRECTIONS, { error: 'Direction must be egress or ingress' }),
  justification: text('Justification', 5000),
})

export const decisionSchema = z.object({ reason: text('Reason', 2000) })

export const credentialsSchema = z.object({
  username: text('Username', 100),
  password: z.string({ error: 'Password is required' }).min(1, 'Password is required').max(1024),
})

export const newUserSchema = z.object({
  username: z
    .string({ error: 'Username is required' })
    .trim()
    .regex(/^[a-z0-9][a-z0-9._-]{1,39}$/, '2 to 40 characters: lower-case letters, digits, . _ -'),
  password: z
    .string({ error: 'Password is required' })
    .min(12, 'Password must be at least 12 characters')
    .max(1024),
  role: z.enum(ROLES, { error: 'Role must be researcher, checker or admin' }),
})

export type FieldErrors = Array<{ field: string; message: string }>

/** Parses `input`, or returns the field errors (one per field, first message wins). */
export function check<T>(
  schema: z.ZodType<T>,
  input: unknown,
): { ok: true; data: T } | { ok: false; errors: FieldErrors } {
  const result = schema.safeParse(input ?? {})
  if (result.success) return { ok: true, data: result.data }
  const errors: FieldErrors = []
  for (const issue of result.error.issues) {
    const field = issue.path.join('.') || 'body'
    if (!errors.some((e) => e.field === field)) errors.push({ field, message: issue.message })
  }
  return { ok: false, errors }
}

/** Parses `input` or throws the 422 with field errors that the error handler renders. */
export function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = check(schema, input)
  if (!result.ok)
    throw new HttpError(422, {
      detail: 'Some fields are missing or invalid.',
      errors: result.errors,
    })
  return result.data
}
