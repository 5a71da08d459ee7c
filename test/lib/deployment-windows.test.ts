import t from 'tap'
import { checkWindow, localTimeToInstant, parseAllowWindow } from '../../src/lib/deployment-windows.js'

const berlin = { timezone: 'Europe/Berlin', allow: ['Mon-Fri 09:00-17:00'], deny: [] }
const next = (verdict: ReturnType<typeof checkWindow>): string | null | undefined => verdict.open ? undefined : verdict.nextOpenAt?.toISOString() ?? null

t.test('an approval on Friday 18:00 for Mon–Fri 09:00–17:00 starts Monday 09:00 local time', async (t) => {
  // Friday 2026-12-04 18:00 in Berlin (CET, UTC+1) is 17:00Z; Monday 09:00 CET is 08:00Z.
  const friday = localTimeToInstant('2026-12-04 18:00', 'Europe/Berlin')
  t.equal(friday.toISOString(), '2026-12-04T17:00:00.000Z')
  const verdict = checkWindow(berlin, friday)
  t.equal(next(verdict), '2026-12-07T08:00:00.000Z')
  t.match(verdict, { open: false, reason: /outside the allow windows \(Mon-Fri 09:00-17:00, Europe\/Berlin\)/ })
  t.same(checkWindow(berlin, new Date('2026-12-07T08:00:00Z')), { open: true }, 'open at 09:00 exactly')
  t.same(checkWindow(berlin, new Date('2026-12-07T15:59:59Z')), { open: true }, 'open at 16:59:59')
  t.equal(next(checkWindow(berlin, new Date('2026-12-07T16:00:00Z'))), '2026-12-08T08:00:00.000Z', 'closed at 17:00: the next morning')
  // In summer the same local times are an hour earlier in UTC.
  t.equal(next(checkWindow(berlin, new Date('2026-07-03T16:00:00Z'))), '2026-07-06T07:00:00.000Z', 'Friday 18:00 CEST → Monday 09:00 CEST')
})

t.test('a deny window over the opening moves the start to the deny window\'s end', async (t) => {
  const config = { ...berlin, deny: [{ from: '2026-12-07 00:00', to: '2026-12-07 13:30', reason: 'Monday freeze' }] }
  const verdict = checkWindow(config, localTimeToInstant('2026-12-04 18:00', 'Europe/Berlin'))
  t.equal(next(verdict), '2026-12-07T12:30:00.000Z', 'Monday 13:30 local')
  const inside = checkWindow(config, new Date('2026-12-07T09:00:00Z'))
  t.match(inside, { open: false, reason: /deny window .*Monday freeze/ })
  // A deny window that ends after the allow window closed: the next allow window after it.
  const late = checkWindow({ ...berlin, deny: [{ from: '2026-12-07 00:00', to: '2026-12-07 18:00', reason: 'all day' }] }, new Date('2026-12-07T09:00:00Z'))
  t.equal(next(late), '2026-12-08T08:00:00.000Z')
  // Without allow windows, only the deny windows count.
  t.equal(next(checkWindow({ timezone: 'UTC', allow: [], deny: [{ from: '2026-12-24 00:00', to: '2026-12-27 00:00', reason: 'holidays' }] }, new Date('2026-12-25T10:00:00Z'))), '2026-12-27T00:00:00.000Z')
})

t.test('daylight saving: the night the clock skips 02:00–03:00, and the night it repeats', async (t) => {
  const nightly = { timezone: 'Europe/Berlin', allow: ['02:00-03:00'], deny: [] }
  // 2026-03-29: at 02:00 CET the clock jumps to 03:00 CEST; that night's window has no time in it.
  t.equal(next(checkWindow(nightly, new Date('2026-03-27T12:00:00Z'))), '2026-03-28T01:00:00.000Z', 'the night before the skip: 02:00 CET is 01:00Z')
  const skipped = checkWindow(nightly, new Date('2026-03-28T23:30:00Z'))
  t.equal(next(skipped), '2026-03-30T00:00:00.000Z', 'the skipped night never opens: the next night, 02:00 CEST')
  t.notOk(checkWindow(nightly, new Date('2026-03-29T01:00:00Z')).open, 'the instant the clock jumps is not in the window')
  // 2026-10-25: at 03:00 CEST the clock goes back to 02:00 CET; 02:00–03:00 local happens twice.
  const repeat = checkWindow(nightly, new Date('2026-10-24T12:00:00Z'))
  t.equal(next(repeat), '2026-10-25T01:00:00.000Z', 'a deployment waiting from the day before starts at the second 02:00 (CET), croner\'s choice')
  t.notOk(checkWindow(nightly, new Date('2026-10-24T23:59:00Z')).open, '01:59 CEST is before the window')
  t.ok(checkWindow(nightly, new Date('2026-10-25T00:30:00Z')).open, 'the first 02:30 (CEST) is inside: the local time is 02:30')
  t.ok(checkWindow(nightly, new Date('2026-10-25T01:30:00Z')).open, 'the second 02:30 (CET) is too')
  t.notOk(checkWindow(nightly, new Date('2026-10-25T02:00:00Z')).open, 'closed at 03:00 CET: two real hours of window that night')
})

t.test('windows across midnight, whole days, and bad specs', async (t) => {
  const overnight = { timezone: 'UTC', allow: ['Sat 22:00-02:00'], deny: [] }
  t.ok(checkWindow(overnight, new Date('2026-12-06T01:00:00Z')).open, 'Sunday 01:00 is inside Saturday 22:00-02:00')
  t.equal(next(checkWindow(overnight, new Date('2026-12-06T02:00:00Z'))), '2026-12-12T22:00:00.000Z')
  const weekend = { timezone: 'UTC', allow: ['Sat,Sun 00:00-24:00'], deny: [] }
  t.ok(checkWindow(weekend, new Date('2026-12-06T12:00:00Z')).open, 'Sunday noon')
  t.equal(next(checkWindow(weekend, new Date('2026-12-07T12:00:00Z'))), '2026-12-12T00:00:00.000Z')
  t.throws(() => parseAllowWindow('Mon-Fry 09:00-17:00', 'UTC'), /days are Mon/)
  t.throws(() => parseAllowWindow('9-17', 'UTC'), /is not a window/)
  t.throws(() => localTimeToInstant('next tuesday', 'UTC'), /is not a local time/)
})
