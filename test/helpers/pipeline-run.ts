import type { DeploymentRow, Phase } from '../../src/domain/index.js'
import { DeploymentRecorder } from '../../src/pipeline/deployment-recorder.js'
import { DeploymentRun } from '../../src/pipeline/deployment-run.js'
import { validateEnvironment } from '../../src/pipeline/steps/preamble.js'
import { claimDeployment, getDeployment } from '../../src/store/deployments.js'
import type { Harness } from './harness.js'

/** Records a deployment through the API (in a harness without a worker, so nothing runs it) and returns its id. */
export async function recordDeployment (h: Harness, body: Record<string, unknown>): Promise<string> {
  const created = await h.request('POST', '/deployments', { body })
  if (created.statusCode !== 202) throw new Error(created.body)
  return created.json().id as string
}

/** Claims a recorded deployment for `phase` as a worker's job does, and makes the run a phase function takes. */
export async function claimRun (h: Harness, id: string, phase: Phase = 'plan'): Promise<DeploymentRun> {
  const claimed = await claimDeployment(h.runtime.pool, id, phase)
  if (claimed === undefined) throw new Error(`deployment ${id} is not waiting for its ${phase} phase`)
  const logger = h.runtime.logger.child({ deployment_id: id, phase })
  const recorder = new DeploymentRecorder(h.runtime.pool, claimed, logger)
  return new DeploymentRun(h.runtime.pipeline, claimed, await validateEnvironment(h.runtime.pipeline, claimed, recorder), recorder, logger)
}

/** The deployment's row as the control database has it now. */
export async function rowOf (h: Harness, id: string): Promise<DeploymentRow> {
  const row = await getDeployment(h.runtime.pool, id)
  if (row === undefined) throw new Error(`no deployment ${id}`)
  return row
}
