import { z } from 'zod'
import { assertTimeZone, localTimeToInstant, parseAllowWindow } from '../lib/deployment-windows.js'

/**
 * `windows:` of an environment (SPEC §15): when deployments may start, in an IANA zone. Every
 * window is parsed here, so a bad one stops the process at start with its path.
 */
export const windowsSchema = z.strictObject({
  timezone: z.string().min(1),
  allow: z.array(z.string().min(1)).default([]),
  deny: z.array(z.strictObject({ from: z.string().min(1), to: z.string().min(1), reason: z.string().min(1, 'say why deployments are frozen') })).default([]),
  /** A window that closes while a deployment applies: `finish` it, or `hold` the rest after the migration in flight. */
  on_close: z.enum(['finish', 'hold']).default('finish')
}).superRefine((windows, ctx) => {
  try {
    assertTimeZone(windows.timezone)
  } catch (error) {
    ctx.addIssue({ code: 'custom', path: ['timezone'], message: (error as Error).message })
    return
  }
  windows.allow.forEach((spec, index) => {
    try { parseAllowWindow(spec, windows.timezone) } catch (error) { ctx.addIssue({ code: 'custom', path: ['allow', index], message: (error as Error).message }) }
  })
  windows.deny.forEach((deny, index) => {
    try {
      if (localTimeToInstant(deny.to, windows.timezone) <= localTimeToInstant(deny.from, windows.timezone)) {
        ctx.addIssue({ code: 'custom', path: ['deny', index, 'to'], message: `ends before it starts (${deny.from} – ${deny.to})` })
      }
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: ['deny', index], message: (error as Error).message })
    }
  })
})

export type EnvironmentWindows = z.output<typeof windowsSchema>
