import type { Queryable } from './pool.js'

export interface ApprovalRow {
  deployment_id: string
  approver: string
  comment: string | null
  plan_checksum: string
  created_at: Date
}

/** Records one approval; returns false when this person had already approved. */
export async function insertApproval (db: Queryable, approval: Omit<ApprovalRow, 'created_at'>): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO approvals (deployment_id, approver, comment, plan_checksum) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
    [approval.deployment_id, approval.approver, approval.comment, approval.plan_checksum]
  )
  return rowCount === 1
}

export async function listApprovals (db: Queryable, deploymentId: string): Promise<ApprovalRow[]> {
  const { rows } = await db.query<ApprovalRow>('SELECT * FROM approvals WHERE deployment_id = $1 ORDER BY created_at, approver', [deploymentId])
  return rows
}

/** How many approvals a deployment has received. */
export async function countApprovals (db: Queryable, deploymentId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM approvals WHERE deployment_id = $1', [deploymentId])
  return rows[0]?.n ?? 0
}
