#!/usr/bin/env node
// The package's bin. Installed from the package (npm pack / a registry), it runs the compiled
// CLI in dist/. In a clone of the repository it runs the TypeScript source through tsx, so that
// `npx migration-deployer …` works right after `npm install`, without a build that could be stale.
import { existsSync } from 'node:fs'

const source = new URL('../src/cli/main.ts', import.meta.url)
let fromSource = false
if (existsSync(source)) {
  try {
    const { register } = await import('tsx/esm/api')
    register()
    fromSource = true
  } catch {
    // No tsx (a production install that kept src/): the compiled CLI below.
  }
}
await import(fromSource ? source.href : new URL('../dist/cli/main.js', import.meta.url).href)
