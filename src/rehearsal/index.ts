// Rehearsal (SPEC §12): the plan applied to a scratch copy of the target, before approval.
export { runRehearsal, type RehearsalInput } from './run-rehearsal.js'
export { dropLeftoverScratchDatabases, SCRATCH_PREFIX } from './scratch-database.js'
