// The analysis thread's entry when the service runs from its TypeScript source (npm start, tests):
// on Node.js 20 a worker thread does not inherit the tsx loader of the main thread, so it
// registers its own. A build (dist/) runs analysis-thread.js directly and never loads this file.
import { register } from 'tsx/esm/api'

register()
const thread = await import('./analysis-thread.ts')

export const analyze = thread.analyze
export const lint = thread.lint
