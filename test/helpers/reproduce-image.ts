import { execFile } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { buildContextFiles } from './docker-context.js'
import { parseCopy, parseEnv, parseExecForm, readDockerfile } from './dockerfile.js'

/** The Dockerfile's last stage, reproduced as a folder tree. */
export interface ReproducedImage {
  /** Each stage's filesystem root on this machine (`/` inside the image), by stage name. */
  stages: Record<string, string>
  /** The last stage's WORKDIR, on this machine. */
  workdir: string
  /** The last stage's ENV; values naming a path inside the image point into its tree here. */
  env: Record<string, string>
  entrypoint: string[]
  cmd: string[]
  /** Steps not reproduced (system packages, ownership), each with why. */
  skipped: string[]
  /** How long each reproduced RUN step took. */
  timings: Array<{ stage: string, step: string, ms: number }>
}

/**
 * This process's environment without what `npm test` and tap put in it (npm_* settings such as
 * the project's own prefix, NODE_OPTIONS loading TypeScript hooks): a build starts clean.
 */
export function cleanEnv (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const kept = Object.entries(env).filter(([key]) => !/^(npm_|NODE_OPTIONS$|NODE_PATH$|TAP|_TAPJS)/i.test(key))
  const quiet = { npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' }
  return { ...Object.fromEntries(kept), ...quiet, npm_config_prefer_offline: 'true' }
}

const run = promisify(execFile)

interface Stage { name: string, root: string, workdir: string, env: Record<string, string> }

// RUN steps that change the system rather than the app's files: the test machine has what they
// install (PostgreSQL's client tools), and ownership does not matter to a process run here.
const SYSTEM_STEPS: Array<[RegExp, string]> = [
  [/^apt-get /, 'system packages'],
  [/^rm -rf \/var\/lib\/apt\/lists\//, 'apt lists'],
  [/^chown /, 'file ownership'],
  // It would empty the npm cache this machine shares; it only makes the image smaller.
  [/^npm cache clean\b/, 'npm cache']
]

/**
 * Reproduces the Dockerfile's stages without a Docker engine, following the Dockerfile itself:
 * each stage is a folder under `into`; FROM an earlier stage starts from a (hard-linked) copy
 * of it; COPY takes files from the build context (tracked files, .dockerignore applied) or from
 * an earlier stage; RUN runs its `npm ci` / `npm run` steps and `mkdir -p`. Any other step it
 * does not know fails, so a new kind of step is taught here rather than silently ignored.
 */
export async function reproduceImage (contextRoot: string, into: string, npmEnv: NodeJS.ProcessEnv = cleanEnv(process.env)): Promise<ReproducedImage> {
  const context = buildContextFiles(contextRoot)
  // The context as it is now, as `docker build` sends it first: edits made while the stages run
  // (a slow `npm ci`) do not leak into later COPYs.
  const snapshot = path.join(into, '.context')
  for (const file of context) {
    mkdirSync(path.dirname(path.join(snapshot, file)), { recursive: true })
    copyFileSync(path.join(contextRoot, file), path.join(snapshot, file))
  }
  const stages: Stage[] = []
  const result: ReproducedImage = { stages: {}, workdir: '', env: {}, entrypoint: [], cmd: [], skipped: [], timings: [] }
  let stage: Stage | undefined
  const inImage = (s: Stage, file: string): string => path.join(s.root, path.posix.resolve(s.workdir, file))
  for (const { keyword, args, stage: name } of readDockerfile(contextRoot)) {
    if (keyword === 'FROM') {
      const base = stages.find((s) => s.name === args.split(/\s+/)[0])
      stage = { name, root: path.join(into, name), workdir: base?.workdir ?? '/', env: { ...base?.env } }
      if (base === undefined) mkdirSync(stage.root, { recursive: true })
      else await run('cp', ['-al', base.root, stage.root])
      stages.push(stage)
      result.stages[name] = stage.root
      result.entrypoint = []
      result.cmd = []
      continue
    }
    if (stage === undefined) throw new Error(`${keyword} before the first FROM`)
    if (keyword === 'WORKDIR') {
      stage.workdir = path.posix.resolve(stage.workdir, args)
      mkdirSync(inImage(stage, '.'), { recursive: true })
    } else if (keyword === 'ENV') Object.assign(stage.env, parseEnv(args))
    else if (keyword === 'COPY') await copy(stage, args)
    else if (keyword === 'RUN') await runStep(stage, args)
    else if (keyword === 'ENTRYPOINT') result.entrypoint = parseExecForm(keyword, args)
    else if (keyword === 'CMD') result.cmd = parseExecForm(keyword, args)
    else if (!['USER', 'EXPOSE', 'LABEL', 'ARG'].includes(keyword)) {
      throw new Error(`${keyword} ${args}: not reproduced (teach test/helpers/reproduce-image.ts)`)
    }
  }
  if (stage === undefined) throw new Error('the Dockerfile has no stage')
  const last = stage
  result.workdir = inImage(last, '.')
  result.env = Object.fromEntries(Object.entries(last.env).map(([key, value]) =>
    [key, value.startsWith('/') && existsSync(path.join(last.root, value)) ? path.join(last.root, value) : value]))
  return result

  // Docker's rules: a file goes to the destination, or into it when it ends with / (or there are
  // several sources); a folder's contents (not the folder itself) go into the destination.
  async function copy (to: Stage, args: string): Promise<void> {
    const { flags, sources, dest } = parseCopy(args)
    const intoDir = dest.endsWith('/') || dest === '.' || sources.length > 1
    const target = inImage(to, dest)
    const fileTarget = (source: string): string => intoDir ? path.join(target, path.posix.basename(source)) : target
    for (const source of sources) {
      if (/[*?[]/.test(source)) throw new Error(`COPY ${args}: wildcards are not reproduced (teach test/helpers/reproduce-image.ts)`)
      if (flags.from !== undefined) {
        const from = stages.find((s) => s.name === flags.from)
        if (from === undefined) throw new Error(`COPY ${args}: no earlier stage ${flags.from}`)
        const file = path.join(from.root, path.posix.resolve('/', source))
        if (!existsSync(file)) throw new Error(`COPY ${args}: ${source} does not exist in stage ${flags.from}`)
        const folder = statSync(file).isDirectory()
        mkdirSync(folder ? target : path.dirname(fileTarget(source)), { recursive: true })
        await run('cp', ['-al', folder ? `${file}/.` : file, folder ? `${target}/` : fileTarget(source)])
        continue
      }
      const relative = path.posix.normalize(source).replace(/\/+$/, '')
      const files = relative === '.' ? context : context.filter((file) => file === relative || file.startsWith(`${relative}/`))
      if (files.length === 0) throw new Error(`COPY ${args}: ${source} is not in the build context (untracked, or left out by .dockerignore)`)
      for (const file of files) {
        const out = file === relative ? fileTarget(source) : path.join(target, relative === '.' ? file : file.slice(relative.length + 1))
        mkdirSync(path.dirname(out), { recursive: true })
        copyFileSync(path.join(snapshot, file), out)
      }
    }
  }

  async function runStep (at: Stage, args: string): Promise<void> {
    for (const step of args.split('&&').map((s) => s.trim())) {
      const system = SYSTEM_STEPS.find(([pattern]) => pattern.test(step))
      if (system !== undefined) { result.skipped.push(`${at.name}: ${step} (${system[1]})`); continue }
      if (/["'`$|;<>\\]/.test(step)) throw new Error(`RUN ${step}: shell syntax is not reproduced (teach test/helpers/reproduce-image.ts)`)
      const argv = step.split(/\s+/)
      if (argv[0] === 'mkdir' && argv[1] === '-p') {
        for (const dir of argv.slice(2)) mkdirSync(inImage(at, dir), { recursive: true })
      } else if (argv[0] === 'npm' && (argv[1] === 'ci' || argv[1] === 'run')) {
        const started = Date.now()
        try {
          await run('npm', argv.slice(1), { cwd: inImage(at, '.'), env: { ...npmEnv, ...at.env }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
        } catch (error) {
          const { stdout = '', stderr = '' } = error as { stdout?: string, stderr?: string }
          throw new Error(`stage ${at.name}: ${step} failed:\n${`${stdout}\n${stderr}`.trim().split('\n').slice(-30).join('\n')}`)
        }
        result.timings.push({ stage: at.name, step, ms: Date.now() - started })
      } else {
        throw new Error(`RUN ${step}: not reproduced (teach test/helpers/reproduce-image.ts)`)
      }
    }
  }
}
