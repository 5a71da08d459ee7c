// A streamed event as one sentence for people: the human log's own line when the event has one,
// otherwise words made from its kind and data — never the raw JSON.

/** @param {string} name */
export const humanStep = (name) => name.charAt(0).toUpperCase() + name.slice(1).replace(/_/g, ' ')

/** @param {unknown} status */
const statusWords = (status) => typeof status === 'string' ? status.replace(/_/g, ' ') : 'unknown'

/** @param {unknown} value */
const text = (value) => typeof value === 'string' && value !== '' ? value : null

/**
 * The sentence for an event without a log line, by kind.
 * @type {Record<string, (data: Record<string, any>, actor: string | null) => string>}
 */
const SENTENCES = {
  created: (data, actor) => {
    const count = data.inline_migrations
    const uploaded = typeof count === 'number' ? `, ${count} migration${count === 1 ? '' : 's'} uploaded` : ''
    const what = `${statusWords(data.operation ?? 'deploy-migrations')} to ${data.environment ?? 'its environment'}`
    return `Requested by ${actor ?? 'someone'}: ${what}${data.dry_run === true ? ' (dry run)' : ''}${uploaded}`
  },
  status_changed: (data) => {
    const error = text(data.error)
    return `Status: ${statusWords(data.from)} → ${statusWords(data.to)}${error === null ? '' : ` (${error})`}`
  },
  step_started: (data) => `${humanStep(String(data.step ?? 'step'))} started`,
  step_finished: (data) => `${humanStep(String(data.step ?? 'step'))} ${statusWords(data.status)}${text(data.detail) === null ? '' : `: ${data.detail}`}`,
  approved: (data, actor) => `Approved by ${actor ?? 'someone'}${text(data.comment) === null ? '' : `: “${data.comment}”`}`,
  rejected: (data, actor) => `Rejected by ${actor ?? 'someone'}${text(data.reason) === null ? '' : `: ${data.reason}`}`,
  cancelled: (data, actor) => `Cancelled by ${actor ?? 'someone'}${text(data.from) === null ? '' : ` while ${statusWords(data.from)}`}`,
  backups_pruned: (data) => {
    const count = Array.isArray(data.backup_ids) ? data.backup_ids.length : 0
    return `${count} old backup${count === 1 ? '' : 's'} pruned (keeping ${data.keep ?? 'the newest'})`
  },
  webhook_delivery: (data) => {
    const code = typeof data.status_code === 'number' ? ` (HTTP ${data.status_code})` : ''
    const attempt = typeof data.attempt === 'number' ? `, attempt ${data.attempt} of ${data.attempts ?? '?'}` : ''
    return `Webhook for “${data.event ?? 'an event'}” to ${data.host ?? 'its receiver'}: ${statusWords(data.outcome)}${code}${attempt}`
  }
}

/**
 * One streamed event as a line of text.
 * @param {{ event: string, data: string }} message an SSE message: `data` holds the event's JSON
 * @returns {string}
 */
export function describeEvent (message) {
  let parsed
  try { parsed = JSON.parse(message.data) } catch { return message.data }
  if (parsed === null || typeof parsed !== 'object') return String(parsed)
  // The stream's last event: how the deployment ended.
  if (message.event === 'end') return `Finished: ${statusWords(parsed.status)}`
  // A log line is already a sentence; a banner's first line says what it is.
  const line = text(parsed.message)
  if (line !== null) return line.split('\n')[0] ?? line
  const type = typeof parsed.type === 'string' ? parsed.type : message.event
  const data = parsed.data !== null && typeof parsed.data === 'object' ? parsed.data : {}
  const actor = text(parsed.actor)
  const sentence = SENTENCES[type]
  if (sentence !== undefined) return sentence(data, actor)
  // A kind this page does not know yet: its name in words, and who did it.
  return `${humanStep(type)}${actor === null || actor === 'system' ? '' : ` (${actor})`}`
}
