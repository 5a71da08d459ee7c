// Run test files in balanced lanes, one tap process per lane, and merge their TAP into one stream.
//
//   node scripts/test-lanes.mjs --lanes=N --files=LIST --durations=TSV --raw=OUT --echo=full|files -- TAP [tap options...]
//
// tap 21 sorts the files it is given alphabetically and hands them to its --jobs pool in that
// order, so the heaviest folders (test/reliability, test/ui) started last and a run ended with
// one file running alone for minutes. Here the files are split by their known durations
// (test/file-durations.tsv), longest first onto the least-loaded lane, and each lane is its own
// `tap --jobs=1` over its files. Each file's TAP block (from "# Subtest: file" to its result
// line and diagnostics) is copied whole into the merged stream as it ends, renumbered, so the
// stream reads like one tap run's; the plan comes last. A lane that dies mid-file leaves its
// partial block in the stream (the counting in run-tests.sh then fails that file) and its
// files that never ran are missing (also failed there). Exit code: 0 only when every lane's
// tap exited 0.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import { readDurationTable } from './file-durations.mjs'

const args = process.argv.slice(2)
const sep = args.indexOf('--')
const own = Object.fromEntries(args.slice(0, sep).map(a => /^--([^=]+)=(.*)$/.exec(a)).filter(Boolean).map(m => [m[1], m[2]]))
const [tapBin, ...tapOpts] = args.slice(sep + 1)
const lanesWanted = Number(own.lanes)
const files = fs.readFileSync(own.files, 'utf8').split('\n').map(s => s.trim()).filter(Boolean)
const raw = fs.createWriteStream(own.raw)
const echoAll = own.echo !== 'files'

/** Seconds per file from the durations table; files not in it get the median (a new file is usually ordinary). */
function readDurations (path) {
  const known = readDurationTable(path)
  const sorted = [...known.values()].sort((a, b) => a - b)
  const median = sorted.length ? sorted[Math.floor(sorted.length / 2)] : 10
  return file => known.get(file) ?? median
}

// Longest processing time first: each file, heaviest first, onto the lane with the least work so far.
const durationOf = readDurations(own.durations)
const lanes = Array.from({ length: Math.max(1, Math.min(lanesWanted, files.length)) }, () => ({ files: [], load: 0 }))
for (const file of [...files].sort((a, b) => durationOf(b) - durationOf(a) || a.localeCompare(b))) {
  const lane = lanes.reduce((min, l) => (l.load < min.load ? l : min))
  lane.files.push(file)
  lane.load += durationOf(file)
}

let number = 0
const trailer = []
const out = text => {
  raw.write(text)
  if (echoAll) process.stdout.write(text)
}
out('TAP version 14\n')
out(`# ${lanes.length} lanes (expected seconds: ${lanes.map(l => Math.round(l.load)).join(', ')})\n`)

const RESULT = /^(not )?ok\b(?:\s+\d+)?(.*)$/
/** Copy one file's block into the merged stream, its result line renumbered. */
function flush (block) {
  if (!block.length) return
  const text = block.map(line => {
    const m = RESULT.exec(line)
    return m ? `${m[1] ?? ''}ok ${++number}${m[2]}` : line
  }).join('\n') + '\n'
  out(text)
  if (!echoAll) {
    // on a terminal: one line per file, and the whole block of a failed one
    const result = block.find(line => RESULT.test(line))
    if (result && !result.startsWith('not ')) process.stdout.write(`${result.replace(RESULT, 'ok$2')}\n`)
    else process.stdout.write(text)
  }
}

function runLane (lane, index) {
  return new Promise(resolve => {
    const child = spawn(tapBin, [...tapOpts, ...lane.files], { stdio: ['ignore', 'pipe', 'inherit'] })
    let block = []
    let state = 'idle' // 'block': inside a file's block; 'after': its result line seen, diagnostics may follow
    let partial = ''
    const onLine = line => {
      if (state === 'after') {
        if (line === '' || /^\s/.test(line)) { block.push(line); return }
        flush(block)
        block = []
        state = 'idle'
      }
      if (state === 'block') {
        block.push(line)
        if (RESULT.test(line)) state = 'after'
        return
      }
      if (line.startsWith('# Subtest: ')) { block = [line]; state = 'block'; return }
      // a runner-level result outside any block ("not ok - timeout!"): kept, renumbered, with its diagnostics
      if (RESULT.test(line)) { block = [line]; state = 'after'; return }
      if (line.startsWith('Bail out!')) { out(line + '\n'); return }
      if (/^1\.\.\d+/.test(line) || line === 'TAP version 14' || line === '') return
      trailer.push(`# lane ${index + 1}: ${line.replace(/^#\s*/, '')}`)
    }
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', chunk => {
      const lines = (partial + chunk).split(/\r?\n/)
      partial = lines.pop()
      for (const line of lines) onLine(line)
    })
    child.on('error', err => {
      trailer.push(`# lane ${index + 1}: could not start tap: ${err.message}`)
      resolve(1)
    })
    child.on('close', (code, signal) => {
      if (partial) onLine(partial)
      flush(block)
      if (code !== 0) trailer.push(`# lane ${index + 1}: tap exited with ${signal ?? `code ${code}`}`)
      resolve(code ?? 1)
    })
  })
}

const codes = await Promise.all(lanes.map(runLane))
out(`1..${number}\n`)
out(trailer.join('\n') + (trailer.length ? '\n' : ''))
raw.end()
await new Promise(resolve => raw.on('close', resolve))
process.exitCode = codes.every(c => c === 0) ? 0 : 1
