import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildSync, version as esbuildVersion } from 'esbuild'

// PROJECT_ROOT without importing harness.ts (cli.ts and processes.ts import this file).
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const SRC = path.join(ROOT, 'src')
const PREFIX = '.test-build-'
// Builds nobody has touched for this long are removed when a new one is made.
const STALE_AFTER_MS = 24 * 60 * 60 * 1000

/** Every file under `dir`, as paths relative to it, sorted. */
function filesUnder (dir: string, prefix = ''): string[] {
  const out: string[] = []
  for (const entry of readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    const relative = path.join(prefix, entry.name)
    if (entry.isDirectory()) out.push(...filesUnder(dir, relative))
    else if (entry.isFile()) out.push(relative)
  }
  return out.sort()
}

/**
 * The hash a build is named by: every file of src/ (path and bytes), the tsconfig the
 * transpiler reads, the transpiler's version and this file. Any edit gives another name, so a
 * build is never reused for source it was not made from.
 */
function sourceHash (files: string[]): string {
  const hash = createHash('sha256')
  for (const file of files) hash.update(`${file}\0`).update(readFileSync(path.join(SRC, file))).update('\0')
  hash.update(readFileSync(path.join(ROOT, 'tsconfig.json'))).update(esbuildVersion)
  hash.update(readFileSync(fileURLToPath(import.meta.url)))
  return hash.digest('hex').slice(0, 16)
}

let built: string | undefined

/**
 * The directory of src/ compiled to JavaScript for the current source (`<root>/.test-build-<hash>`),
 * built on first use in this process unless a process before already built the same source.
 *
 * Why: every CLI or service process a test starts from the TypeScript source pays tsx's loader
 * (about 0.9 s of CPU for a CLI run against 0.4 s compiled), on 2 shared cores. esbuild
 * transpiles file by file, as tsx does, with the same tsconfig. The tree sits one level below
 * the root, like dist/, so the paths the code finds from its own location (ui/, package.json,
 * src/store/migrations, .data) are the same. MD_TEST_FROM_SOURCE=1 makes the helpers spawn the
 * source through tsx instead.
 */
export function builtSourceDir (): string {
  if (built !== undefined) return built
  const files = filesUnder(SRC)
  const dir = path.join(ROOT, `${PREFIX}${sourceHash(files)}`)
  if (!existsSync(path.join(dir, 'cli', 'main.js'))) {
    // Built aside and renamed into place: a lane running at the same time sees a whole tree or none.
    const scratch = `${dir}.tmp-${process.pid}-${Date.now()}`
    try {
      buildSync({
        entryPoints: files.filter((file) => file.endsWith('.ts')).map((file) => path.join(SRC, file)),
        outdir: scratch,
        outbase: SRC,
        format: 'esm',
        platform: 'node',
        target: `node${process.versions.node}`,
        tsconfig: path.join(ROOT, 'tsconfig.json'),
        logLevel: 'error'
      })
      // Other files the code loads next to itself (the analysis thread's shim and the like).
      buildSync({ entryPoints: files.filter((file) => !file.endsWith('.ts')).map((file) => path.join(SRC, file)), outdir: scratch, outbase: SRC, loader: { '.sql': 'copy', '.mjs': 'copy', '.json': 'copy' }, logLevel: 'error' })
      try {
        renameSync(scratch, dir)
      } catch (error) {
        // Another process put the same build there first.
        if (!existsSync(path.join(dir, 'cli', 'main.js'))) throw error
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true })
    }
    removeStaleBuilds(dir)
  } else {
    // Used now: not stale for removeStaleBuilds.
    const now = new Date()
    try { utimesSync(dir, now, now) } catch {}
  }
  built = dir
  return dir
}

function removeStaleBuilds (keep: string): void {
  for (const name of readdirSync(ROOT)) {
    const dir = path.join(ROOT, name)
    if (!name.startsWith(PREFIX) || dir === keep) continue
    try {
      if (Date.now() - statSync(dir).mtimeMs > STALE_AFTER_MS) rmSync(dir, { recursive: true, force: true })
    } catch {
      // Removed by another process meanwhile.
    }
  }
}

/**
 * The node arguments that start the CLI (`migration-deployer <args>`): the compiled tree of the
 * current source, or the source through tsx with MD_TEST_FROM_SOURCE=1.
 */
export function cliArgs (args: string[]): string[] {
  if (process.env.MD_TEST_FROM_SOURCE === '1') return ['--import', 'tsx', path.join(SRC, 'cli', 'main.ts'), ...args]
  return [path.join(builtSourceDir(), 'cli', 'main.js'), ...args]
}
