import { copyFileSync, existsSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { execa } from 'execa'
import { PROJECT_ROOT } from './harness.js'

/** A clone of the repository's committed HEAD in a temporary folder, as a new user gets it. */
export interface FreshClone {
  /** The folder holding the clone (and room for more: an empty project, HOME, tarballs). */
  base: string
  dir: string
  /** Milliseconds `git clone` took. */
  cloneMs: number
  remove: () => void
}

/**
 * Why a fresh clone cannot be made here (no git, or not a git checkout, as in an unpacked
 * tarball), or undefined when it can.
 */
export async function whyNoClone (): Promise<string | undefined> {
  const git = await execa('git', ['--version'], { reject: false })
  if (git.exitCode !== 0) return 'git is not installed'
  const inside = await execa('git', ['-C', PROJECT_ROOT, 'rev-parse', '--is-inside-work-tree'], { reject: false })
  if (inside.exitCode !== 0 || inside.stdout.trim() !== 'true') return `${PROJECT_ROOT} is not a git checkout`
  return undefined
}

/** `git clone` of this repository's committed HEAD into a new temporary folder. */
export async function cloneHead (name = 'migration-deployer'): Promise<FreshClone> {
  const base = mkdtempSync(path.join(tmpdir(), 'md-clone-'))
  const dir = path.join(base, name)
  const started = performance.now()
  await execa('git', ['clone', '--quiet', PROJECT_ROOT, dir])
  return { base, dir, cloneMs: performance.now() - started, remove: () => { rmSync(base, { recursive: true, force: true }) } }
}

/**
 * Gives the clone this checkout's node_modules as hard links (seconds, where a cold `npm install`
 * takes minutes), so that `npm install` in the clone only checks the tree against the lock. The
 * one file npm rewrites in place, its hidden lockfile, is copied instead of linked.
 */
export async function seedNodeModules (clone: string): Promise<void> {
  const source = path.join(PROJECT_ROOT, 'node_modules')
  if (!existsSync(source)) return
  const linked = await execa('cp', ['-al', source, path.join(clone, 'node_modules')], { reject: false })
  if (linked.exitCode !== 0) {
    // Another file system (no hard links across it): npm install does all the work then.
    rmSync(path.join(clone, 'node_modules'), { recursive: true, force: true })
    return
  }
  const hidden = path.join(clone, 'node_modules', '.package-lock.json')
  if (existsSync(hidden)) {
    unlinkSync(hidden)
    copyFileSync(path.join(source, '.package-lock.json'), hidden)
  }
}

/** npm's options for a test: offline first (the cache has what the checkout installed), quiet. */
export const NPM_QUIET = ['--no-audit', '--no-fund', '--prefer-offline']

/**
 * npm configuration, through the environment, for `npm install` run as written over seeded
 * node_modules: offline first, quiet, and no install scripts, which could rewrite a file in place
 * and so change the checkout's own copy through the hard link.
 */
export const NPM_SEEDED_ENV: Record<string, string> = {
  npm_config_prefer_offline: 'true',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_ignore_scripts: 'true'
}
