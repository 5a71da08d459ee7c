import type { z } from 'zod'

// ES2024's String.prototype.isWellFormed (Node 20 has it; the project's lib setting is ES2023).
type WellFormedCheck = string & { isWellFormed: () => boolean }

/** What the 400 says after the field's path: what is wrong, and how to fix it. */
export const ILL_FORMED_TEXT = 'contains a lone UTF-16 surrogate (half of a surrogate pair, such as \\ud800 in JSON), which is not Unicode text ' +
  'and cannot be stored: send well-formed text (both halves of the pair, or neither), e.g. by encoding the value from valid UTF-8'

/** True when the string holds no lone surrogate (every one is half of a pair). */
export function isWellFormedText (value: string): boolean {
  return (value as WellFormedCheck).isWellFormed()
}

/**
 * The one refinement every free-text field a client sends goes through: a lone UTF-16 surrogate
 * (valid in a JSON string's `\uD800` escape, not Unicode) is refused with a 400 naming the field,
 * instead of reaching PostgreSQL, whose jsonb refuses it (22P02) with a 500.
 */
export function wellFormed<T extends z.ZodString> (schema: T): T {
  return schema.refine(isWellFormedText, { error: ILL_FORMED_TEXT }) as T
}
