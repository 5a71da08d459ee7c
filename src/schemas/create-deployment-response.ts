import { z } from 'zod'
import { deploymentSchema } from './deployment.js'

/** What POST /deployments answers: the deployment, plus anything the client should know about how it was recorded. */
export const createdDeploymentSchema = deploymentSchema.extend({
  warnings: z.array(z.string()).optional().meta({
    description: 'Present when the deployment was recorded but something did not go as usual, e.g. the queue (Redis) was unavailable: the deployment is safe in the control database and a worker\'s reconciler enqueues it when the queue is back',
    example: ['the queue (Redis) is unavailable: the deployment is recorded and will be picked up by a worker when the queue is back']
  })
}).meta({ id: 'CreatedDeployment' })

/** The headers POST /deployments reads besides Authorization (other headers pass through). */
export const createDeploymentHeaders = z.looseObject({
  'idempotency-key': z.string().max(255).optional().meta({
    description: 'Makes retries safe: the same key and body from the same token within 24 hours return the deployment the first request created (200); the same key with another body is a 409',
    example: '5f0c1a9e-2f43-4b8e-9a57-6c1f0e3d2b7a'
  })
})
