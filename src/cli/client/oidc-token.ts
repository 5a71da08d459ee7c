import { ServerUnavailableError, UsageError } from './errors.js'

/** Where the client's bearer token comes from when it is fetched rather than given. */
export interface TokenSource {
  /** A token valid for a while yet (fetched again shortly before it expires). */
  token: () => Promise<string>
  /** Every secret this source has handled, for redaction. */
  secrets: () => string[]
}

/** Renew this long before `exp`: the server allows 60 s of skew, and a request takes time. */
const RENEW_BEFORE_MS = 90_000

/**
 * The job's OIDC token inside GitHub Actions, for `audience` (--oidc-audience): GitHub hands a job
 * with `permissions: id-token: write` a URL and a request token in ACTIONS_ID_TOKEN_REQUEST_URL and
 * ACTIONS_ID_TOKEN_REQUEST_TOKEN; a GET there returns `{"value": "<JWT>"}`. The JWT lasts minutes,
 * so a long `deploy --wait` fetches a fresh one when it nears its `exp`. No secret is stored anywhere.
 */
export function githubActionsTokenSource (audience: string, env: NodeJS.ProcessEnv): TokenSource {
  const requestUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL
  const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN
  if (requestUrl === undefined || requestUrl === '' || requestToken === undefined || requestToken === '') {
    throw new UsageError('--oidc-audience fetches the job\'s OIDC token inside GitHub Actions, ' +
      'but ACTIONS_ID_TOKEN_REQUEST_URL/ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set: ' +
      'give the job `permissions: id-token: write`, or elsewhere put the CI\'s OIDC token in DEPLOYER_TOKEN (GitLab: id_tokens)')
  }
  const seen = [requestToken]
  let current: { value: string, renewAt: number } | undefined

  async function fetchToken (): Promise<string> {
    const url = new URL(requestUrl as string)
    url.searchParams.set('audience', audience)
    let response: Response
    try {
      const headers = { authorization: `Bearer ${requestToken as string}`, accept: 'application/json' }
      response = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) })
    } catch (error) {
      throw new ServerUnavailableError(`cannot fetch the job's OIDC token from GitHub Actions: ${(error as Error).message}`)
    }
    const body = await response.json().catch(() => null) as { value?: unknown } | null
    if (!response.ok || typeof body?.value !== 'string') {
      throw new ServerUnavailableError(`GitHub Actions did not hand out an OIDC token (HTTP ${response.status}): check the job's permissions (id-token: write)`)
    }
    seen.push(body.value)
    current = { value: body.value, renewAt: expiryOf(body.value) - RENEW_BEFORE_MS }
    return body.value
  }

  return {
    token: async () => current !== undefined && Date.now() < current.renewAt ? current.value : await fetchToken(),
    secrets: () => seen
  }
}

/** When a JWT expires (ms), read from its payload without verifying it (the server verifies); soon if unreadable. */
function expiryOf (jwt: string): number {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown }
    if (typeof payload.exp === 'number') return payload.exp * 1000
  } catch {
    // Not a readable JWT: use it once, fetch again next time.
  }
  return Date.now()
}
