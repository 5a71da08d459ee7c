/** Example bodies for the OpenAPI components (linted against their schemas by redocly). */

const ID = 'dep_01JH7Z0A8Q9YB4W1D2K3M4N5P6'
const SELF = `/deployments/${ID}`
const CHECKSUM = 'sha256:2c5d1f0e9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d'

const summary = {
  id: ID,
  operation: 'deploy-migrations',
  environment: 'production',
  mode: 'deploy',
  status: 'pending_approval',
  requested_by: 'ci-bot',
  dry_run: false,
  skip_backup: false,
  skip_health_check: false,
  working_directory: null,
  backup_id: null,
  created_at: '2025-01-24T10:30:00.000Z',
  updated_at: '2025-01-24T10:30:02.000Z',
  started_at: '2025-01-24T10:30:00.500Z',
  finished_at: null,
  source: { commit: 'abc123', ref: 'main', url: 'https://ci.example/run/42' },
  report: null,
  links: { self: SELF, approve: `${SELF}/approve`, reject: `${SELF}/reject`, cancel: `${SELF}/cancel`, log: `${SELF}/log`, events: `${SELF}/events` }
}

export const COMPONENT_EXAMPLES: Record<string, unknown> = {
  Deployment: {
    ...summary,
    plan: {
      checksum: CHECKSUM,
      pending_migrations: 1,
      migrations: [{
        name: '20250124140000_add_user_profiles',
        checksum: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
        sql: 'CREATE TABLE "UserProfile" ("id" SERIAL PRIMARY KEY, "bio" TEXT);',
        transactional: true,
        warnings: [],
        estimated_duration_seconds: 0.4,
        estimate_basis: 'measured in staging'
      }]
    },
    approval: { required: 1, approvals: [], expires_at: '2025-01-25T10:30:02.000Z' },
    steps: [
      { name: 'load_configuration', status: 'passed', started_at: '2025-01-24T10:30:00.600Z', finished_at: '2025-01-24T10:30:00.700Z', detail: 'tool prisma, 6 migrations in the source' },
      { name: 'health_check_before', status: 'passed', started_at: '2025-01-24T10:30:00.700Z', finished_at: '2025-01-24T10:30:01.000Z', detail: 'connectivity: ok' },
      { name: 'check_pending', status: 'passed', started_at: '2025-01-24T10:30:01.000Z', finished_at: '2025-01-24T10:30:01.500Z', detail: '1 pending of 6' },
      { name: 'approval', status: 'running', started_at: '2025-01-24T10:30:02.000Z', finished_at: null, detail: 'waiting for 1 approval (roles: approver)' }
    ]
  },
  DeploymentList: {
    deployments: [{ ...summary, status: 'succeeded', finished_at: '2025-01-24T10:41:00.000Z', report: { status: 'success', message: 'Successfully applied 1 migration to production' } }],
    next_cursor: null
  },
  DeploymentEventList: {
    events: [
      { id: 41, type: 'created', actor: 'ci-bot', actor_identity: null, message: null, data: { environment: 'production' }, created_at: '2025-01-24T10:30:00.000Z' },
      { id: 42, type: 'log', actor: null, actor_identity: null, message: '✓ Configuration loaded', data: null, created_at: '2025-01-24T10:30:00.700Z' }
    ]
  },
  Environment: {
    name: 'production',
    mode: 'deploy',
    migration_tool: 'prisma',
    protected: true,
    working_directory: 'app',
    requires_success_in: ['staging'],
    approval: { required_approvals: 1, roles: ['approver'], approvers: null, allow_self_approval: false, expires_after_seconds: 86400 },
    backup_before_migrate: true,
    on_failure: 'restore_backup'
  },
  EnvironmentStatus: {
    environment: 'production',
    migration_tool: 'prisma',
    working_directory: 'app',
    schema: 'public',
    up_to_date: false,
    history_table_exists: true,
    applied: [{ name: '20250110090000_init', checksum: '5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8', started_at: '2025-01-10T09:00:00.000Z', finished_at: '2025-01-10T09:00:00.300Z' }],
    pending: [{ name: '20250124140000_add_user_profiles', checksum: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08' }],
    failed: [],
    drifted: [],
    last_deployment: {
      id: ID,
      operation: 'deploy-migrations',
      status: 'pending_approval',
      requested_by: 'ci-bot',
      created_at: '2025-01-24T10:30:00.000Z',
      finished_at: null,
      link: SELF,
      migrations_from: 'working_directory',
      working_directory: 'app'
    },
    last_backup: { id: 'backup-20250120-160000-3f9a', created_at: '2025-01-20T16:00:00.000Z', size_bytes: 482133, restore_command: 'migration-deployer restore --env production --backup backup-20250120-160000-3f9a' }
  }
}
