// Preflight (SPEC §12): what the pending statements would fail on among the target's rows.
export { runPreflight, type PreflightOptions } from './run-preflight.js'
