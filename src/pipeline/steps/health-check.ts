import { connectTarget } from '../../handlers/target-connection.js'
import { maskSecrets } from '../../lib/mask-secrets.js'
import type { EnvironmentConfig } from '../../config/load.js'

export interface HealthCheckResult {
  passed: boolean
  details: Array<{ check: string, passed: boolean, message: string }>
}

/** `connectivity`: connect and run `SELECT 1` within the configured timeout. */
export async function runHealthCheck (databaseUrl: string, environment: EnvironmentConfig): Promise<HealthCheckResult> {
  const timeoutMs = environment.health_check.timeout
  const started = performance.now()
  try {
    const client = await connectTarget(databaseUrl, { applicationName: 'migration-deployer health', connectTimeoutMs: timeoutMs })
    try {
      await client.query(`SET statement_timeout = ${Math.max(1, Math.trunc(timeoutMs))}`)
      await client.query('SELECT 1')
    } finally {
      await client.end().catch(() => {})
    }
    return { passed: true, details: [{ check: 'connectivity', passed: true, message: `connected and ran SELECT 1 in ${Math.round(performance.now() - started)} ms` }] }
  } catch (error) {
    return { passed: false, details: [{ check: 'connectivity', passed: false, message: maskSecrets((error as Error).message) }] }
  }
}
