import type { EnvironmentConfig } from '../../config/load.js'
import type { DeploymentRow } from '../../domain/index.js'
import { DeploymentFailure } from '../deployment-failure.js'
import type { DeploymentRecorder } from '../deployment-recorder.js'
import { modeDescription, startBanner } from '../human-log.js'
import type { PipelineContext } from '../pipeline-context.js'

/**
 * The first steps of every operation (SPEC §1 steps 1–3): validate the environment, load its
 * configuration (`loadConfiguration` does the operation's own loading and describes it), and
 * determine the mode; with the banner and log lines of SPEC §7.
 */
export async function runPreamble<T> (ctx: PipelineContext, deployment: DeploymentRow, recorder: DeploymentRecorder, loadConfiguration: (environment: EnvironmentConfig) => Promise<{ value: T, detail: string }>): Promise<{ environment: EnvironmentConfig, loaded: T }> {
  const environment = ctx.config.environments[deployment.environment]
  if (environment === undefined) {
    await recorder.startStep('validate_environment')
    throw new DeploymentFailure({
      error: `Unknown environment ${deployment.environment}`,
      suggestions: [`Configure it in ${ctx.config.source} or deploy to one of: ${Object.keys(ctx.config.environments).join(', ')}`]
    })
  }
  await recorder.log(startBanner(environment), 'banner')
  await recorder.startStep('load_configuration')
  const loaded = await loadConfiguration(environment)
  await recorder.finishStep('load_configuration', 'passed', loaded.detail)
  await recorder.log('✓ Configuration loaded')
  await recorder.finishStep('validate_environment', 'passed', environment.name)
  await recorder.log(`✓ Environment validated: ${environment.name}`)
  await recorder.finishStep('determine_mode', 'passed', modeDescription(environment))
  return { environment, loaded: loaded.value }
}
