import { z } from 'zod'

/** The error body of every 4xx/5xx (SPEC §4). */
export const errorBodySchema = z.object({
  error: z.object({
    code: z.string().meta({ example: 'BAD_REQUEST' }),
    message: z.string().meta({ example: 'unknown environment "prod"; valid environments: dev, staging, production' }),
    details: z.unknown().optional()
  })
}).meta({ id: 'Error' })

export const deploymentIdParams = z.object({
  id: z.string().min(1).max(64).meta({ description: 'Deployment id', example: 'dep_01JH7Z0A8Q9YB4W1D2K3M4N5P6' })
})

/** Error responses every authenticated route may give (429: the token's rate limit, with Retry-After). */
export const authErrors = { 401: errorBodySchema, 403: errorBodySchema, 429: errorBodySchema }
