import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { authErrors } from '../../schemas/common.js'

const environmentSchema = z.object({
  name: z.string(),
  mode: z.enum(['dev', 'deploy']),
  migration_tool: z.string(),
  protected: z.boolean(),
  working_directory: z.string().nullable(),
  requires_success_in: z.array(z.string()),
  approval: z.object({ required_approvals: z.number().int(), roles: z.array(z.string()), allow_self_approval: z.boolean(), expires_after_seconds: z.number() }).nullable(),
  backup_before_migrate: z.boolean(),
  on_failure: z.string()
}).meta({ id: 'Environment' })

/** Configured environments, without URLs or the names of secrets' values. */
const environmentRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/environments', {
    onRequest: app.requireRole('viewer', 'deployer', 'approver'),
    schema: { tags: ['environments'], summary: 'List configured environments', response: { 200: z.object({ environments: z.array(environmentSchema) }), ...authErrors } }
  }, async () => ({
    environments: Object.values(app.services.config.environments).map((env) => ({
      name: env.name,
      mode: env.mode,
      migration_tool: env.migration_tool,
      protected: env.protected,
      working_directory: env.working_directory ?? null,
      requires_success_in: env.requires_success_in,
      approval: env.protected ? { required_approvals: env.approval.required_approvals, roles: [...env.approval.roles], allow_self_approval: env.approval.allow_self_approval, expires_after_seconds: env.approval.expires_after / 1000 } : null,
      backup_before_migrate: env.backup_before_migrate,
      on_failure: env.on_failure
    }))
  }))
}

export default environmentRoutes
