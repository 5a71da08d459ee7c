import { safeErrorMessage } from '../lib/mask-secrets.js'
import type { PipelineContext } from '../pipeline/pipeline-context.js'
import { dropLeftoverScratchDatabases } from '../rehearsal/index.js'

/**
 * Drops the scratch databases a rehearsal left behind when its worker died (kill -9 mid-rehearsal),
 * on every server an environment rehearses on. A server that cannot be reached is logged and tried
 * again on the next pass. Returns the names dropped.
 */
export async function dropRehearsalLeftovers (ctx: PipelineContext): Promise<string[]> {
  const urls = new Map<string, string>()
  for (const environment of Object.values(ctx.config.environments)) {
    if (environment.rehearsal === false || !environment.rehearsal.schema) continue
    // A fleet environment has no one URL of its own: its rehearsals name their server in rehearsal.database_url_env.
    const variable = environment.rehearsal.database_url_env ?? environment.database_url_env
    if (variable === undefined) continue
    const url = ctx.env[variable]
    if (url === undefined || url === '') continue
    // One pass per server (host, port, role) is enough: leftovers are found by name across the server.
    const parsed = new URL(url)
    urls.set(`${parsed.host} ${parsed.username}`, url)
  }
  const dropped: string[] = []
  for (const url of urls.values()) {
    try {
      dropped.push(...await dropLeftoverScratchDatabases(url))
    } catch (error) {
      ctx.logger.warn({ err: { message: safeErrorMessage(error) } }, 'could not look for rehearsal leftovers; the next pass tries again')
    }
  }
  if (dropped.length > 0) ctx.logger.info({ dropped }, 'dropped scratch databases left by an interrupted rehearsal')
  return dropped
}
