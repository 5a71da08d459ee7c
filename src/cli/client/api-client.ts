import { RequestRefusedError, ServerUnavailableError } from './errors.js'
import type { Connection } from './options.js'
import { parseEventStream, type ServerSentEvent } from './sse-parser.js'

const USER_AGENT = 'migration-deployer-cli/0.1.0'

/**
 * A small fetch-based client of the HTTP API. The token goes only into the Authorization
 * header; every message this client produces has it removed, whatever the server echoes.
 */
export class ApiClient {
  constructor (private readonly connection: Connection) {}

  get server (): string {
    return this.connection.server
  }

  /** Removes the token (and any token fetched for --oidc-audience) from any text before it is shown. */
  redact (text: string): string {
    const secrets = [this.connection.token, ...(this.connection.tokenSource?.secrets() ?? [])].filter((secret) => secret !== '')
    return secrets.reduce((redacted, secret) => redacted.split(secret).join('***'), text)
  }

  /** A JSON request; 4xx become RequestRefusedError, 5xx and network failures ServerUnavailableError. */
  async json<T> (method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const response = await this.send(method, path, { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body === undefined ? undefined : JSON.stringify(body))
    return await response.json() as T
  }

  async text (path: string): Promise<string> {
    const response = await this.send('GET', path, { accept: 'text/plain' })
    return await response.text()
  }

  /**
   * Opens the deployment's Server-Sent Events after `afterId` and yields each event until the
   * server closes the stream (or `signal` aborts).
   */
  async * events (deploymentId: string, afterId: number, signal: AbortSignal): AsyncGenerator<ServerSentEvent> {
    const headers: Record<string, string> = { accept: 'text/event-stream' }
    if (afterId > 0) headers['last-event-id'] = String(afterId)
    const response = await this.send('GET', `/deployments/${encodeURIComponent(deploymentId)}/events`, headers, undefined, signal)
    if (response.body === null) return
    yield * parseEventStream(response.body)
  }

  private async send (method: string, path: string, headers: Record<string, string>, body?: string, signal?: AbortSignal): Promise<Response> {
    const token = this.connection.tokenSource === undefined ? this.connection.token : await this.connection.tokenSource.token()
    let response: Response
    try {
      response = await fetch(`${this.connection.server}${path}`, {
        method,
        headers: { ...headers, authorization: `Bearer ${token}`, 'user-agent': USER_AGENT },
        ...(body === undefined ? {} : { body }),
        ...(signal === undefined ? {} : { signal })
      })
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error
      const cause = (error as { cause?: { code?: string, message?: string } }).cause
      throw new ServerUnavailableError(this.redact(`cannot reach ${this.connection.server}: ${cause?.code ?? cause?.message ?? (error as Error).message}`))
    }
    if (response.ok) return response
    const text = await response.text().catch(() => '')
    let code = `HTTP_${response.status}`
    let message = text.slice(0, 500)
    try {
      const parsed = JSON.parse(text) as { error?: { code?: string, message?: string } }
      code = parsed.error?.code ?? code
      message = parsed.error?.message ?? message
    } catch {
      // Not our error body (a proxy's page): show its start.
    }
    if (response.status === 401 && !message.includes('DEPLOYER_TOKEN')) message += ' (check DEPLOYER_TOKEN / --token)'
    if (response.status >= 500) throw new ServerUnavailableError(this.redact(`${method} ${path}: ${response.status} ${code}: ${message}`))
    throw new RequestRefusedError(response.status, code, this.redact(message))
  }
}
