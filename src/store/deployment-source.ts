import type { Queryable } from './pool.js'

/** Where a deployment's migrations came from: uploaded inline, or a working directory (its own or the environment's). */
export interface DeploymentSource {
  inline: boolean
  working_directory: string | null
}

/** Reads where one deployment's migrations came from without loading the uploaded files. */
export async function deploymentSource (db: Queryable, id: string): Promise<DeploymentSource | undefined> {
  const { rows } = await db.query<DeploymentSource>('SELECT inline_migrations IS NOT NULL AS inline, working_directory FROM deployments WHERE id = $1', [id])
  return rows[0]
}
