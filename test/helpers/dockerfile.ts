import { readFileSync } from 'node:fs'
import path from 'node:path'

/** One Dockerfile instruction, continuation lines joined, with the stage it belongs to. */
export interface Instruction { keyword: string, args: string, stage: string }

/** The Dockerfile's instructions in order (comments and blank lines left out). */
export function readDockerfile (root: string): Instruction[] {
  const text = readFileSync(path.join(root, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ')
  const instructions: Instruction[] = []
  let stage = ''
  for (const line of text.split('\n')) {
    const trimmed = line.trim()
    if (trimmed === '' || trimmed.startsWith('#')) continue
    const [keyword = '', ...rest] = trimmed.split(/\s+/)
    const args = rest.join(' ')
    if (keyword.toUpperCase() === 'FROM') stage = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? args
    instructions.push({ keyword: keyword.toUpperCase(), args, stage })
  }
  return instructions
}

/** A COPY's flags (`--from=build` → `{ from: 'build' }`), its sources and its destination. */
export function parseCopy (args: string): { flags: Record<string, string>, sources: string[], dest: string } {
  const parts = args.split(/\s+/)
  const flags: Record<string, string> = {}
  while (parts[0]?.startsWith('--') === true) {
    const [name = '', value = ''] = (parts.shift() as string).slice(2).split('=', 2)
    flags[name] = value
  }
  const dest = parts.pop()
  if (dest === undefined || parts.length === 0) throw new Error(`COPY ${args}: needs a source and a destination`)
  return { flags, sources: parts, dest }
}

/** `ENV A=1 B="x y"` → `{ A: '1', B: 'x y' }` (the key=value form only; the legacy `ENV A 1` too). */
export function parseEnv (args: string): Record<string, string> {
  const env: Record<string, string> = {}
  if (!args.includes('=')) {
    const [key = '', ...value] = args.split(/\s+/)
    env[key] = value.join(' ')
    return env
  }
  for (const match of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g)) {
    const raw = match[2] as string
    env[match[1] as string] = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw.startsWith("'") ? raw.slice(1, -1) : raw
  }
  return env
}

/** An ENTRYPOINT or CMD in its exec (JSON array) form; the shell form is refused, as the image avoids it. */
export function parseExecForm (keyword: string, args: string): string[] {
  try {
    const parsed: unknown = JSON.parse(args)
    if (Array.isArray(parsed) && parsed.every((part) => typeof part === 'string')) return parsed
  } catch {}
  throw new Error(`${keyword} ${args}: only the exec form (a JSON array) is reproduced`)
}
