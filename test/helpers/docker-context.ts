import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'

/**
 * A .dockerignore pattern as a regular expression over a context-relative path, with Docker's
 * meaning: `*` and `?` stay within one path segment, `**` spans any number of them.
 */
export function dockerignorePattern (pattern: string): RegExp {
  const cleaned = path.posix.normalize(pattern.replace(/^\/+/, '')).replace(/\/+$/, '')
  let source = ''
  for (let i = 0; i < cleaned.length; i++) {
    const char = cleaned[i] as string
    if (cleaned.startsWith('**/', i)) {
      source += '(?:.*/)?'
      i += 2
    } else if (cleaned.startsWith('**', i)) {
      source += '.*'
      i += 1
    } else if (char === '*') source += '[^/]*'
    else if (char === '?') source += '[^/]'
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${source}$`)
}

/**
 * Whether .dockerignore leaves `file` out of the build context: the last rule that matches the
 * file or one of its folders decides, and a `!` rule lets it back in.
 */
export function dockerignoreFilter (text: string): (file: string) => boolean {
  const rules = text.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => ({ include: line.startsWith('!'), pattern: dockerignorePattern(line.replace(/^!/, '')) }))
  return (file) => {
    const segments = file.split('/')
    const prefixes = segments.map((_segment, i) => segments.slice(0, i + 1).join('/'))
    let ignored = false
    for (const rule of rules) if (prefixes.some((prefix) => rule.pattern.test(prefix))) ignored = !rule.include
    return ignored
  }
}

/**
 * The files `docker build .` would see from a clean checkout: the tracked files (`git ls-files`,
 * so nothing generated or left lying around) that .dockerignore does not leave out.
 */
export function buildContextFiles (root: string): string[] {
  const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).split('\0').filter(Boolean)
  const ignoreFile = path.join(root, '.dockerignore')
  const ignored = dockerignoreFilter(existsSync(ignoreFile) ? readFileSync(ignoreFile, 'utf8') : '')
  // A tracked file deleted in the working tree is not there for COPY either.
  return tracked.filter((file) => !ignored(file) && existsSync(path.join(root, file)))
}
