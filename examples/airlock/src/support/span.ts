// GAP: the tracing capability (`withSpan` exported from 'rampart') has not landed on main yet.
// This stand-in has the same signature and runs `fn` without a span; switch the import in
// auth/passwords.ts and domain/uploads.ts to 'rampart' once it lands.
export function withSpan<T>(
  _name: string,
  _attributes: Record<string, string | number | boolean>,
  fn: () => Promise<T>,
): Promise<T> {
  return fn()
}
