import type pg from 'pg'

/** A wall-clock time in milliseconds with sub-millisecond precision (comparable with PostgreSQL's now()). */
export const wallMs = (): number => performance.timeOrigin + performance.now()

/** POSTs a deployment and returns its id; throws unless the API answers 202. */
export async function postDeployment (apiUrl: string, token: string, body: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${apiUrl}/deployments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body)
  })
  const text = await response.text()
  if (response.status !== 202) throw new Error(`POST /deployments answered ${response.status}: ${text}`)
  return (JSON.parse(text) as { id: string }).id
}

export interface FinishedRow {
  status: string
  /** Epoch milliseconds with PostgreSQL's microseconds kept (a Date would round them off). */
  created_ms: number
  started_ms: number | null
  finished_ms: number | null
  steps: Array<{ name: string, status: string, started_at: string | null, finished_at: string | null }>
  report: Record<string, unknown> | null
}

const TERMINAL = ['succeeded', 'failed', 'rejected', 'cancelled', 'expired']

/**
 * Waits for a deployment to end by reading its row in the control database every `everyMs`
 * (the row's own timestamps are what gets measured, so the polling interval adds no error).
 */
export async function waitForTerminal (control: pg.Client, id: string, options: { everyMs: number, timeoutMs: number }): Promise<FinishedRow> {
  const deadline = Date.now() + options.timeoutMs
  for (;;) {
    const { rows } = await control.query<FinishedRow>(`SELECT status, extract(epoch FROM created_at)::float8 * 1000 AS created_ms, extract(epoch FROM started_at)::float8 * 1000 AS started_ms,
            extract(epoch FROM finished_at)::float8 * 1000 AS finished_ms, steps, report
       FROM deployments WHERE id = $1`, [id])
    const row = rows[0]
    if (row !== undefined && TERMINAL.includes(row.status)) return row
    if (Date.now() > deadline) throw new Error(`deployment ${id} is still ${row?.status ?? 'missing'} after ${options.timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, options.everyMs))
  }
}

/** Fails loudly when a deployment the bench started did not succeed. */
export function assertSucceeded (id: string, row: FinishedRow): void {
  if (row.status !== 'succeeded') throw new Error(`deployment ${id} ended ${row.status}: ${JSON.stringify(row.report)}`)
}
