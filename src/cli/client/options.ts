import { parseArgs, type ParseArgsConfig } from 'node:util'
import { parseDuration } from '../../config/duration.js'
import { UsageError } from './errors.js'
import { githubActionsTokenSource, type TokenSource } from './oidc-token.js'

type OptionSpec = NonNullable<ParseArgsConfig['options']>

/** Options every client command takes. */
export const COMMON_OPTIONS = {
  server: { type: 'string' },
  token: { type: 'string' },
  'oidc-audience': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
} as const satisfies OptionSpec

export interface Connection {
  /** Base URL without a trailing slash. */
  server: string
  /** The bearer token given (DEPLOYER_TOKEN: a static token or a CI job's OIDC token); '' when `tokenSource` fetches it. */
  token: string
  /** With --oidc-audience: the GitHub Actions job's OIDC token, fetched (and renewed) for that audience. */
  tokenSource?: TokenSource
}

/** Parses a command's arguments strictly; every problem is a UsageError (exit 2). */
export function parseCommandArgs<T extends OptionSpec> (
  args: string[],
  options: T
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args, options: { ...COMMON_OPTIONS, ...options }, allowPositionals: true, strict: true })
    return { values: values as Record<string, string | boolean | undefined>, positionals }
  } catch (error) {
    // node:util's messages name the option and what is wrong with it; drop its advice about "--" that does not apply here.
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, '').replace(/^Unknown option/, 'unknown option'))
  }
}

/** The server and token from --server/--token or DEPLOYER_URL/DEPLOYER_TOKEN, or --oidc-audience (GitHub Actions). */
export function resolveConnection (values: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv): Connection {
  const server = stringOption(values, 'server') ?? env.DEPLOYER_URL
  const token = stringOption(values, 'token') ?? env.DEPLOYER_TOKEN
  if (server === undefined || server === '') throw new UsageError('no server: set DEPLOYER_URL (or pass --server), e.g. DEPLOYER_URL=https://deployer.example.com')
  let url: URL
  try {
    url = new URL(server)
  } catch {
    throw new UsageError(`--server/DEPLOYER_URL must be an http(s) URL like https://deployer.example.com, got ${JSON.stringify(server)}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--server/DEPLOYER_URL must be an http(s) URL, got a ${url.protocol} URL`)
  if (url.username !== '' || url.password !== '') throw new UsageError('--server/DEPLOYER_URL must not carry credentials; put the token in DEPLOYER_TOKEN')
  const audience = stringOption(values, 'oidc-audience')
  const base = url.toString().replace(/\/+$/, '')
  if (audience !== undefined) {
    if (token !== undefined && token !== '') throw new UsageError('give either a token (DEPLOYER_TOKEN, --token) or --oidc-audience, not both')
    if (audience === '') {
      throw new UsageError('--oidc-audience needs the audience the server expects (auth.oidc audience), e.g. --oidc-audience migration-deployer')
    }
    return { server: base, token: '', tokenSource: githubActionsTokenSource(audience, env) }
  }
  if (token === undefined || token === '') {
    throw new UsageError('no token: set DEPLOYER_TOKEN (a token, or the CI job\'s OIDC token), pass --token, or --oidc-audience <aud> inside GitHub Actions')
  }
  return { server: base, token }
}

export function stringOption (values: Record<string, string | boolean | undefined>, name: string): string | undefined {
  const value = values[name]
  return typeof value === 'string' ? value : undefined
}

/** --timeout as milliseconds (`90s`, `10m`, `1h`, or seconds), undefined when not given. */
export function timeoutOption (values: Record<string, string | boolean | undefined>): number | undefined {
  const text = stringOption(values, 'timeout')
  if (text === undefined) return undefined
  const ms = parseDuration(text)
  if (ms === undefined || ms <= 0) throw new UsageError(`--timeout must be a duration like 90s, 10m or 1h, got ${JSON.stringify(text)}`)
  return ms
}

/** Exactly one positional argument (a deployment id, an environment name). */
export function onePositional (positionals: string[], what: string): string {
  if (positionals.length === 0) throw new UsageError(`missing ${what}`)
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}: give one ${what}`)
  return positionals[0] as string
}
