// Building the page without innerHTML: every value from the API becomes a text node, so SQL,
// names and messages are shown literally and can never become markup or script.

/**
 * Creates an element. `attrs` are attributes (`class`, `href`, `aria-*`, …), except `on`
 * (event listeners) and boolean `true`/`false` values (set or left out). Children are nodes,
 * strings (as text), arrays of either, or null/undefined/false (skipped).
 * @param {string} tag
 * @param {Record<string, unknown> | null} [attrs]
 * @param {...unknown} children
 * @returns {HTMLElement}
 */
export function h (tag, attrs = null, ...children) {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (name === 'on') {
      for (const [type, listener] of Object.entries(/** @type {Record<string, EventListener>} */ (value))) element.addEventListener(type, listener)
    } else if (value === true) {
      element.setAttribute(name, '')
    } else if (value !== false && value !== null && value !== undefined) {
      element.setAttribute(name, String(value))
    }
  }
  append(element, children)
  return element
}

/** @param {Node} parent @param {unknown[]} children */
function append (parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    if (Array.isArray(child)) append(parent, child)
    else if (child instanceof Node) parent.appendChild(child)
    else parent.appendChild(document.createTextNode(String(child)))
  }
}

/** Replaces an element's children. @param {Element} element @param {...unknown} children */
export function replaceChildren (element, ...children) {
  element.replaceChildren()
  append(element, children)
}

/** "45 s", "12 min", "3 h 5 min", "2 d 4 h". @param {number} ms */
export function formatDuration (ms) {
  const seconds = Math.max(0, Math.round(ms / 1000))
  if (seconds < 60) return `${seconds} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes} min`
  const hours = Math.floor(minutes / 60)
  if (hours < 48) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`
  const days = Math.floor(hours / 24)
  return hours % 24 === 0 ? `${days} d` : `${days} d ${hours % 24} h`
}

/** Seconds with one decimal for short runs ("2.3 s", "< 0.1 s"), else formatDuration. @param {number} ms */
export function formatElapsed (ms) {
  if (ms < 50) return '< 0.1 s'
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : formatDuration(ms)
}

/** A `<time>` whose text is relative ("5 min ago") and whose title is the exact instant. @param {string} iso */
export function timeAgo (iso) {
  const at = new Date(iso)
  return h('time', { datetime: iso, title: at.toLocaleString() }, `${formatDuration(Date.now() - at.getTime())} ago`)
}

/** An absolute, readable instant in a `<time>`. @param {string} iso */
export function timeAt (iso) {
  const at = new Date(iso)
  return h('time', { datetime: iso }, at.toLocaleString())
}

/** A link only for http(s) URLs: a `javascript:` or `data:` URL from a request stays text. @param {string} url @param {string} [text] */
export function safeLink (url, text = url) {
  let parsed
  try { parsed = new URL(url) } catch { return h('span', null, text) }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return h('span', null, text)
  return h('a', { href: parsed.href, rel: 'noopener noreferrer', target: '_blank' }, text)
}

const STATUS_TONES = {
  succeeded: 'ok',
  failed: 'bad',
  rejected: 'bad',
  expired: 'muted',
  cancelled: 'muted',
  pending_approval: 'attention',
  waiting_for_window: 'attention',
  running: 'info',
  queued: 'info'
}

/** A status badge: the word is always shown, the colour only repeats it. @param {string} status */
export function statusBadge (status) {
  return h('span', { class: `badge tone-${STATUS_TONES[/** @type {keyof typeof STATUS_TONES} */ (status)] ?? 'muted'}`, 'data-status': status }, status.replace(/_/g, ' '))
}

/** Waits `ms`, or rejects at once when the signal aborts. @param {number} ms @param {AbortSignal} signal */
export function delay (ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) { reject(signal.reason); return }
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => { clearTimeout(timer); reject(signal.reason) }, { once: true })
  })
}

/** Less than this left before an approval window closes is shown as urgent. */
const URGENT_MS = 15 * 60_000

/** "57 min left" (or "expired") until `iso`, in a `<time>` titled with the exact instant. @param {string} iso */
export function timeLeft (iso) {
  const left = Date.parse(iso) - Date.now()
  return h('time', { datetime: iso, title: new Date(iso).toLocaleString(), class: left < URGENT_MS ? 'urgent' : null }, left <= 0 ? 'expired' : `${formatDuration(left)} left`)
}
