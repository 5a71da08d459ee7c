import type pg from 'pg'
import { runLoad, type LoadSummary } from './lib/load.js'
import type { BenchProcess } from './lib/processes.js'
import { round } from './lib/stats.js'

export interface AcceptResult {
  connections: number
  seconds: number
  /** 202 answers per second. */
  accepted_per_second: number
  accepted: number
  load: LoadSummary
  /** CPU time the API process spent per accepted deployment. */
  api_cpu_ms_per_request: number
  /** Of the accepted ids, how many rows (and `created` events) the control database holds. */
  rows_found: number
  created_events_found: number
  durable: boolean
}

/**
 * Measure 2: a burst of `POST /deployments` (dry runs to dev) for `seconds`, counting 202s and
 * collecting their ids; then every accepted id must be a row, with its `created` event, in the
 * control database. The worker is stopped first, so the API alone is measured.
 */
export async function measureAccept (input: {
  apiUrl: string
  api: BenchProcess
  token: string
  control: pg.Client
  connections: number
  seconds: number
}): Promise<AcceptResult> {
  const ids: string[] = []
  const cpuBefore = await input.api.cpuMs()
  const load = await runLoad({
    url: `${input.apiUrl}/deployments`,
    method: 'POST',
    connections: input.connections,
    duration: input.seconds,
    headers: { authorization: `Bearer ${input.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ environment: 'dev', dry_run: true }),
    onResponse: (status, body) => {
      if (status === 202) ids.push((JSON.parse(body) as { id: string }).id)
    }
  })
  const cpuMs = (await input.api.cpuMs()) - cpuBefore
  const { rows } = await input.control.query<{ rows: number; events: number }>(
    `SELECT (SELECT count(*) FROM deployments WHERE id = ANY($1))::int AS rows,
            (SELECT count(*) FROM deployment_events WHERE deployment_id = ANY($1) AND type = 'created')::int AS events`,
    [ids]
  )
  const found = rows[0] ?? { rows: 0, events: 0 }
  return {
    connections: input.connections,
    seconds: load.seconds,
    accepted_per_second: ids.length / load.seconds,
    accepted: ids.length,
    load,
    api_cpu_ms_per_request: round(cpuMs / Math.max(1, load.total), 3),
    rows_found: found.rows,
    created_events_found: found.events,
    durable: found.rows === ids.length && found.events === ids.length && load.non2xx === 0
  }
}
