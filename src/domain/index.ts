// The domain's vocabulary: what a deployment is, its states, plan, steps and report. A leaf:
// it imports nothing of ours, so every layer may use it.
export * from './actor.js'
export * from './deployment.js'
export * from './escape-categories.js'
export * from './migration.js'
export * from './report.js'
export * from './roles.js'
