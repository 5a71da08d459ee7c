import { realpathSync } from 'node:fs'
import path from 'node:path'
import { BadRequestError } from '../errors/index.js'
import { isInside } from './confined-path.js'

/**
 * Resolves a requested `working_directory` inside the workspace root, refusing anything that
 * could read outside it: absolute paths elsewhere, `..` segments, and symlinks that lead out.
 * The two realpath calls are synchronous: microseconds on a local checkout, against thread-pool
 * round trips that queue behind each other when every request of a burst resolves its folder.
 */
export async function resolveInsideWorkspace (workspaceRoot: string, requested: string): Promise<string> {
  const hint = 'give a path relative to the workspace root, without ".." (for example "app")'
  if (requested.includes('\0')) throw new BadRequestError(`working_directory contains a NUL byte; ${hint}`, undefined, 'INVALID_WORKING_DIRECTORY')
  if (requested.split(/[\\/]+/).includes('..')) {
    throw new BadRequestError(`working_directory "${requested}" contains ".."; ${hint}`, undefined, 'INVALID_WORKING_DIRECTORY')
  }
  let root: string
  try {
    root = realpathSync.native(workspaceRoot)
  } catch {
    throw new BadRequestError('the workspace root configured on the server does not exist; ask an operator to fix workspace_root', undefined, 'WORKSPACE_MISSING')
  }
  const candidate = path.resolve(root, requested)
  if (!isInside(root, candidate)) {
    throw new BadRequestError(`working_directory "${requested}" is outside the workspace root; ${hint}`, undefined, 'INVALID_WORKING_DIRECTORY')
  }
  let real: string
  try {
    real = realpathSync.native(candidate)
  } catch {
    throw new BadRequestError(`working_directory "${requested}" does not exist in the workspace`, undefined, 'INVALID_WORKING_DIRECTORY')
  }
  if (!isInside(root, real)) {
    throw new BadRequestError(`working_directory "${requested}" follows a symlink out of the workspace root; ${hint}`, undefined, 'INVALID_WORKING_DIRECTORY')
  }
  return real
}
