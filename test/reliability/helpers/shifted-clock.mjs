// Loaded with `--import` (NODE_OPTIONS) into a child process the tests spawn: its clock runs
// TEST_CLOCK_SHIFT_MS ahead of the machine's, so a process can be started "later" (a deployment
// window that opens in hours opens now) without the test sleeping. Date only: timers are untouched.
const shift = Number(process.env.TEST_CLOCK_SHIFT_MS ?? 0)
const RealDate = Date

class ShiftedDate extends RealDate {
  constructor (...args) {
    if (args.length === 0) super(RealDate.now() + shift)
    else super(...args)
  }

  static now () {
    return RealDate.now() + shift
  }
}

globalThis.Date = ShiftedDate
