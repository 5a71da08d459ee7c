import type { EnvironmentConfig } from '../../config/load.js'
import type { DeploymentRow } from '../../domain/index.js'
import { DeploymentFailure } from '../deployment-failure.js'
import type { DeploymentRecorder } from '../deployment-recorder.js'
import type { DeploymentRun } from '../deployment-run.js'
import { modeDescription, startBanner } from '../human-log.js'
import type { PipelineContext } from '../pipeline-context.js'

/**
 * Step 1 (SPEC §1), before there is a run: the deployment's environment must still be configured.
 * A plan fails `validate_environment`; an approved apply whose environment left the config fails too.
 */
export async function validateEnvironment (ctx: PipelineContext, deployment: DeploymentRow, recorder: DeploymentRecorder): Promise<EnvironmentConfig> {
  const environment = ctx.config.environments[deployment.environment]
  if (environment !== undefined) return environment
  if (deployment.phase === 'apply') {
    throw new DeploymentFailure({ error: `Deployment ${deployment.id} has no plan for a configured environment; create a new deployment` })
  }
  await recorder.startStep('validate_environment')
  throw new DeploymentFailure({
    error: `Unknown environment ${deployment.environment}`,
    suggestions: [`Configure it in ${ctx.config.source} or deploy to one of: ${Object.keys(ctx.config.environments).join(', ')}`]
  })
}

/**
 * The first steps of every plan (SPEC §1 steps 1–3): the banner, load the configuration
 * (`loadConfiguration` does the operation's own loading and describes it), the environment
 * validated, the mode determined; with the log lines of SPEC §7.
 */
export async function runPreamble<T> (run: DeploymentRun, loadConfiguration: () => Promise<{ value: T, detail: string }>): Promise<T> {
  const { environment, recorder } = run
  // Two writes to the control database, not seven: what a watcher sees before and after the load.
  await recorder.together(async () => {
    await recorder.log(startBanner(environment), 'banner')
    await recorder.startStep('load_configuration')
  })
  const loaded = await loadConfiguration()
  await recorder.together(async () => {
    await recorder.finishStep('load_configuration', 'passed', loaded.detail)
    await recorder.log('✓ Configuration loaded')
    await recorder.finishStep('validate_environment', 'passed', environment.name)
    await recorder.log(`✓ Environment validated: ${environment.name}`)
    await recorder.finishStep('determine_mode', 'passed', modeDescription(environment))
  })
  return loaded.value
}
