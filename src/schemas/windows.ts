import { z } from 'zod'

export const overrideWindowBody = z.strictObject({
  reason: z.string({ error: (issue) => issue.input === undefined ? 'reason is required: say why the deployment must start outside its window' : 'expected reason as a string' })
    .trim().min(1, 'reason must not be empty: say why the deployment must start outside its window').max(2000)
}).meta({ example: { reason: 'INC-4711: the hotfix must ship before the window opens' } })

export const windowOverrideSchema = z.object({ by: z.string(), at: z.string(), reason: z.string() })
  .meta({ id: 'WindowOverride', description: 'An admin started this deployment outside its environment\'s window' })
