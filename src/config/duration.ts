import { z } from 'zod'

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/**
 * Parses a human duration (`500ms`, `5s`, `10m`, `24h`, `7d`, or a bare number of seconds)
 * into milliseconds. Returns undefined when the text is not a duration.
 */
export function parseDuration (text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? text * 1000 : undefined
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text)
  if (match === null) return undefined
  const unit = UNIT_MS[match[2] ?? 's'] as number
  return Math.round(Number(match[1]) * unit)
}

/** A zod schema accepting a duration and producing milliseconds. */
export const durationMs = z.union([z.string(), z.number()], { error: 'expected a duration like "5s", "10m" or "24h"' }).transform((value, ctx) => {
  const ms = parseDuration(value)
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a duration like "5s", "10m" or "24h", got ${JSON.stringify(value)}` })
    return z.NEVER
  }
  return ms
})
