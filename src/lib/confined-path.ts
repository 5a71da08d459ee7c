import { lstatSync, realpathSync } from 'node:fs'
import path from 'node:path'
import { BadRequestError } from '../errors/index.js'

/** A symlink (or a path) inside the workspace leads out of it. */
export class SymlinkOutsideWorkspaceError extends BadRequestError {
  constructor (shown: string, isLink: boolean) {
    super(isLink
      ? `"${shown}" is a symbolic link that leads outside the workspace root; the deployer reads migrations only inside the workspace: ` +
        'replace the link with the files it points to, or make it point inside the workspace'
      : `"${shown}" is outside the workspace root; the deployer reads migrations only inside the workspace`,
    { path: shown }, 'SYMLINK_OUTSIDE_WORKSPACE')
  }
}

/** Reads confined to one folder: every path is resolved with realpath before it is read. */
export interface Confinement {
  /** The folder's real path. */
  readonly root: string
  /**
   * The real path of `target` (a path under the root), or a `SymlinkOutsideWorkspaceError`
   * naming the link when it resolves outside the root. A missing path throws the fs error
   * (ENOENT, ENOTDIR), as reading it would.
   */
  realpath: (target: string) => string
}

/**
 * Confines reads to `root` (the workspace root; realpath'd here once). Callers read the path
 * `realpath` returns, not the one they asked about, so a link swapped after the check changes
 * nothing. Synchronous, like `resolveInsideWorkspace`: microseconds per path on a local checkout.
 */
export function confineTo (root: string): Confinement {
  // Resolved on first use: a missing root then fails like any missing path below it (ENOENT).
  let realRoot: string | undefined
  const confinement: Confinement = {
    get root () {
      realRoot ??= realpathSync.native(root)
      return realRoot
    },
    realpath: (target) => {
      const real = realpathSync.native(target)
      const inside = confinement.root
      if (!isInside(inside, real)) throw outsideError(inside, root, target)
      return real
    }
  }
  return confinement
}

/** True when `candidate` is `root` or below it (both absolute and normalised). */
export function isInside (root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate)
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative))
}

/**
 * The error for a target that resolved outside: names the first component on the way that is a
 * symlink leading out, as a path relative to the workspace (never where the workspace or the
 * link's target is on the server).
 */
function outsideError (realRoot: string, givenRoot: string, target: string): SymlinkOutsideWorkspaceError {
  const from = isInside(realRoot, target) ? realRoot : isInside(path.resolve(givenRoot), target) ? path.resolve(givenRoot) : undefined
  if (from === undefined) return new SymlinkOutsideWorkspaceError(path.basename(target), false)
  const parts = path.relative(from, target).split(path.sep).filter((part) => part !== '')
  let current = from
  for (const [index, part] of parts.entries()) {
    current = path.join(current, part)
    let leadsOut = false
    try {
      leadsOut = lstatSync(current).isSymbolicLink() && !isInside(realRoot, realpathSync.native(current))
    } catch {
      // A link whose target is missing reads as missing; keep looking further along.
    }
    if (leadsOut) return new SymlinkOutsideWorkspaceError(parts.slice(0, index + 1).join('/'), true)
  }
  return new SymlinkOutsideWorkspaceError(parts.join('/'), true)
}
