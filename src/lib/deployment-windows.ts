import { Cron } from 'croner'

/** `windows:` of an environment (SPEC §15), as the config gives it. */
export interface WindowsConfig {
  /** IANA zone the times are in, e.g. `Europe/Berlin`. */
  timezone: string
  /** Recurring windows, e.g. `Mon-Fri 09:00-17:00`, `Sat 22:00-02:00`, `02:00-03:00` (every day). Empty: always allowed. */
  allow: string[]
  /** One-off freezes in local time, e.g. `{from: "2026-12-20 00:00", to: "2027-01-04 09:00", reason: "year-end freeze"}`. */
  deny: Array<{ from: string, to: string, reason: string }>
}

/** Whether a deployment may start at a moment, and if not, when it next may and why not now. */
export type WindowVerdict =
  | { open: true }
  | { open: false, nextOpenAt: Date | null, reason: string }

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']
const SPEC = /^(?:([A-Za-z]{3}(?:\s*-\s*[A-Za-z]{3})?(?:\s*,\s*[A-Za-z]{3}(?:\s*-\s*[A-Za-z]{3})?)*)\s+)?(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})$/
const LOCAL_TIME = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})(?::(\d{2}))?$/

/** One allow window as two cron schedules in its zone: when it opens, and when it closes. */
interface AllowWindow { spec: string, opens: Cron, closes: Cron, wholeDay: boolean }

function dayNumbers (days: string | undefined, spec: string): number[] {
  if (days === undefined) return [0, 1, 2, 3, 4, 5, 6]
  const numbers = new Set<number>()
  for (const part of days.split(',')) {
    const [from, to] = part.split('-').map((d) => DAYS.indexOf(d.trim().toLowerCase()))
    if (from === undefined || from < 0 || (to !== undefined && to < 0)) throw new Error(`"${spec}": days are Mon, Tue, Wed, Thu, Fri, Sat, Sun (ranges like Mon-Fri)`)
    // A range may wrap the week (Fri-Mon).
    for (let day = from; ; day = (day + 1) % 7) {
      numbers.add(day)
      if (to === undefined || day === to) break
    }
  }
  return [...numbers].sort()
}

/**
 * Parses `Mon-Fri 09:00-17:00` into cron schedules that croner evaluates in the zone, so daylight
 * saving is croner's business: a window whose opening hour does not exist that night (the clock
 * skips it) does not open; one on the night the hour repeats opens once, at the second 02:00.
 * An end at or before the start closes the next day (`22:00-02:00`); `00:00-24:00` is a whole day.
 */
export function parseAllowWindow (spec: string, timezone: string): AllowWindow {
  const match = SPEC.exec(spec.trim())
  if (match === null) throw new Error(`"${spec}" is not a window: write days and times like "Mon-Fri 09:00-17:00" or "02:00-03:00"`)
  const [, days, sh, sm, eh, em] = match as unknown as [string, string | undefined, string, string, string, string]
  const start = { h: Number(sh), m: Number(sm) }
  const end = { h: Number(eh) === 24 && Number(em) === 0 ? 0 : Number(eh), m: Number(em) }
  if (start.h > 23 || start.m > 59 || end.h > 23 || end.m > 59) throw new Error(`"${spec}": times are HH:MM from 00:00 to 24:00`)
  const openDays = dayNumbers(days, spec)
  const nextDay = end.h * 60 + end.m <= start.h * 60 + start.m
  const closeDays = nextDay ? openDays.map((d) => (d + 1) % 7) : openDays
  const cron = (at: { h: number, m: number }, on: number[]): Cron => new Cron(`0 ${at.m} ${at.h} * * ${on.join(',')}`, { timezone, paused: true })
  return { spec, opens: cron(start, openDays), closes: cron(end, closeDays), wholeDay: start.h === end.h && start.m === end.m }
}

/** A local time in the zone (`2026-12-20 00:00`) as an instant; croner does the zone arithmetic. */
export function localTimeToInstant (text: string, timezone: string): Date {
  const match = LOCAL_TIME.exec(text.trim())
  if (match === null) throw new Error(`"${text}" is not a local time: write it like "2026-12-20 18:00"`)
  const iso = `${match[1] as string}T${match[2] as string}:${match[3] ?? '00'}`
  const at = new Cron(iso, { timezone, paused: true }).nextRun(new Date(0))
  if (at === null) throw new Error(`"${text}" does not exist in ${timezone}`)
  return at
}

/** Throws naming the problem when the zone is not an IANA zone this runtime knows. */
export function assertTimeZone (timezone: string): void {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone }).format(0)
  } catch {
    throw new Error(`"${timezone}" is not an IANA time zone (like Europe/Berlin or America/New_York)`)
  }
}

function isInside (window: AllowWindow, at: Date): boolean {
  // Open when the next closing comes before the next opening (both strictly after `at`): [opens, closes).
  const closes = window.closes.nextRun(at)
  const opens = window.opens.nextRun(at)
  if (closes === null) return false
  if (opens === null) return true
  return window.wholeDay ? closes <= opens : closes < opens
}

/** How many window edges the search below may cross before it gives up: years of weekly windows. */
const MAX_STEPS = 2000

/**
 * Whether a deployment may start at `now` under the environment's windows, and if not, the first
 * moment after it that is inside an allow window (or any time, without allow windows) and outside
 * every deny window. Null when there is none within the search (a deny window that never ends).
 */
export function checkWindow (config: WindowsConfig, now: Date): WindowVerdict {
  const allow = config.allow.map((spec) => parseAllowWindow(spec, config.timezone))
  const deny = config.deny.map((d) => ({ from: localTimeToInstant(d.from, config.timezone), to: localTimeToInstant(d.to, config.timezone), reason: d.reason }))
  let at = now
  let reason: string | undefined
  for (let step = 0; step < MAX_STEPS; step++) {
    const denied = deny.find((d) => d.from <= at && at < d.to)
    if (denied !== undefined) {
      reason ??= `inside the deny window ${denied.from.toISOString()} – ${denied.to.toISOString()}: ${denied.reason}`
      at = denied.to
      continue
    }
    if (allow.length > 0 && !allow.some((w) => isInside(w, at))) {
      reason ??= `outside the allow windows (${config.allow.join(', ')}, ${config.timezone})`
      const openings = allow.map((w) => w.opens.nextRun(at)).filter((d): d is Date => d !== null)
      if (openings.length === 0) break
      at = new Date(Math.min(...openings.map((d) => d.getTime())))
      continue
    }
    return reason === undefined ? { open: true } : { open: false, nextOpenAt: at, reason }
  }
  return { open: false, nextOpenAt: null, reason: reason ?? 'no window opens' }
}
