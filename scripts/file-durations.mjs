// test/file-durations.tsv: seconds per test file ("<seconds>\t<file>" lines, "#" comments), written
// by scripts/test-durations.mjs and read by scripts/test-lanes.mjs to balance its lanes.
import fs from 'node:fs'

/** The table as a map from file to seconds; empty when the table is missing. */
export function readDurationTable (path) {
  const seconds = new Map()
  let text = ''
  try { text = fs.readFileSync(path, 'utf8') } catch { }
  for (const line of text.split('\n')) {
    const [sec, file] = line.split('\t')
    if (file && Number.isFinite(Number(sec))) seconds.set(file.trim(), Number(sec))
  }
  return seconds
}
