import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'

/** One printed figure: a value, and when the issue sets one, its target and whether it was met. */
export interface Figure {
  key: string
  label: string
  value: number | string
  unit: string
  target?: { op: '>=' | '<=' | '<', value: number | string }
  met?: boolean
}

/** A figure with a numeric target: `met` is computed here, never by hand. */
export function targeted (key: string, label: string, value: number, unit: string, op: '>=' | '<=' | '<', target: number): Figure {
  const met = op === '>=' ? value >= target : op === '<=' ? value <= target : value < target
  return { key, label, value, unit, target: { op, value: target }, met }
}

export function info (key: string, label: string, value: number | string, unit = ''): Figure {
  return { key, label, value, unit }
}

const formatValue = (value: number | string, unit: string): string => {
  const text = typeof value === 'number' ? (Math.abs(value) >= 100 ? Math.round(value).toLocaleString('en-US') : String(Math.round(value * 100) / 100)) : value
  return unit === '' ? text : `${text} ${unit}`
}

const formatTarget = (figure: Figure): string => figure.target === undefined ? '' : `${figure.target.op === '>=' ? '≥' : figure.target.op === '<=' ? '≤' : '<'} ${formatValue(figure.target.value, figure.unit)}`

const formatMet = (figure: Figure): string => figure.met === undefined ? '' : figure.met ? 'met' : 'NOT met'

/** A Markdown table of the figures (also what the terminal shows). */
export function markdownTable (figures: Figure[]): string {
  const lines = ['| measurement | value | target | met |', '|---|---:|---|---|']
  for (const figure of figures) lines.push(`| ${figure.label} | ${formatValue(figure.value, figure.unit)} | ${formatTarget(figure)} | ${formatMet(figure)} |`)
  return lines.join('\n')
}

/** Replaces a generated block of a README (between the `bench:<block>` markers; `latest` by default) with `content`. */
export async function updateReadmeBlock (readme: string, content: string, block = 'latest'): Promise<void> {
  const START = `<!-- bench:${block}:start -->`
  const END = `<!-- bench:${block}:end -->`
  const text = await readFile(readme, 'utf8')
  const start = text.indexOf(START)
  const end = text.indexOf(END)
  if (start === -1 || end === -1 || end < start) throw new Error(`${readme} has no ${START} … ${END} block`)
  await writeFile(readme, `${text.slice(0, start + START.length)}\n${content}\n${text.slice(end)}`)
}

export async function writeJson (file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true })
  await writeFile(file, `${JSON.stringify(value, null, 2)}\n`)
}
