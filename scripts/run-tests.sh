#!/usr/bin/env bash
# Run the tap test suite and end with a plain summary line: "N passed, N failed".
#
#   bash scripts/run-tests.sh [tap args...]     e.g. bash scripts/run-tests.sh test/api.test.ts
#
# Counting: each top-level subtest of a test file (t.test(...) / test(...)) is one test;
# skipped and todo subtests are reported as ", N skipped". A file that fails without a
# failing subtest (it threw at top level, exited non-zero, timed out, or tap lost its
# result) counts as one failed test; a file with no subtests counts as one test.
# Exit code: 0 only when nothing failed and tap itself succeeded.
#
# Output: raw TAP (complete, with diffs) when stdout is not a terminal (CI); tap's "base"
# reporter on a terminal. RUN_TESTS_REPORTER=tap|base|terse|... or a -R/--reporter argument
# overrides. RUN_TESTS_JOBS=N runs N files at a time (default 2; --jobs=N as an argument also
# works); several files are run in balanced lanes (see "Lanes" below). Configuration (test file
# glob, TypeScript loader, timeout, coverage) is in .taprc.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

TAP_BIN="$ROOT/node_modules/.bin/tap"
if [ ! -x "$TAP_BIN" ]; then
  echo "run-tests.sh: $TAP_BIN not found; run npm install first" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

# tap compiles .taprc's plugin list into node_modules; when the list differs (a fresh install,
# or .taprc changed) tap 21 rebuilds only after this run's test files were set up with the old
# list, so the first run would load both TypeScript loaders. Build first, once per .taprc.
built_marker="$ROOT/node_modules/.cache/run-tests/taprc.cksum"
taprc_sum=$(cksum <"$ROOT/.taprc")
if [ "$(cat "$built_marker" 2>/dev/null)" != "$taprc_sum" ]; then
  if "$TAP_BIN" build >/dev/null 2>&1; then
    mkdir -p "$(dirname "$built_marker")" && echo "$taprc_sum" >"$built_marker"
  else
    echo "run-tests.sh: tap build failed; tap will rebuild its runner itself after this run" >&2
  fi
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/run-tests.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
RAW="$WORK/raw.tap"
: >"$RAW"

reporter="${RUN_TESTS_REPORTER:-}"
if [ -z "$reporter" ]; then
  if [ -t 1 ] && [ -z "${CI:-}" ]; then reporter=base; else reporter=tap; fi
fi
# A reporter given as an argument (-Rdot, --reporter=junit) is used as given; the raw TAP
# then comes from --output-file.
user_reporter=0
for a in "$@"; do
  case "$a" in -R*|--reporter|--reporter=*) user_reporter=1 ;; --) break ;; esac
done

# The files tap is going to run (with the same arguments), to notice any whose result
# never arrives.
"$TAP_BIN" list "$@" >"$WORK/files" 2>/dev/null || : >"$WORK/files"

# Options: ours first, so that arguments given to this script can override them.
# Files in parallel: RUN_TESTS_JOBS, else 2 (the 2 cores here). The files measured are mostly
# CPU-bound (their own process, PostgreSQL, the processes they start, all on the same cores), so
# more files at a time than cores gains little and stretches each file's bounded waits.
jobs="${RUN_TESTS_JOBS:-2}"
case "$jobs" in
  ''|*[!0-9]*|0) echo "run-tests.sh: RUN_TESTS_JOBS must be a positive integer, got '$jobs'" >&2; echo "0 passed, 1 failed"; exit 2 ;;
esac
opts=(--jobs="$jobs" --disable-coverage --timeout=240)
# Lanes: with more than one file and more than one job, and no tap options among the arguments
# (only files or folders), the files are split into RUN_TESTS_LANES lanes (default: the jobs)
# by their durations in test/file-durations.tsv, longest first onto the least-loaded lane, and
# each lane runs as its own `tap --jobs=1` (scripts/test-lanes.mjs): tap itself would run them
# in alphabetical order and end on the heaviest folders one at a time. Measured on the 2 shared
# cores (18 mid-weight files, twice each, in both orders): 3 lanes 295 s and 273 s, 2 lanes 337 s
# and 282 s. The default stays at the jobs (2) until a whole run shows the timing-bound tests
# (event-loop-stall, the HA failovers) hold with 3; RUN_TESTS_LANES=3 runs 3.
lanes="${RUN_TESTS_LANES:-$jobs}"
case "$lanes" in
  ''|*[!0-9]*|0) echo "run-tests.sh: RUN_TESTS_LANES must be a positive integer, got '$lanes'" >&2; echo "0 passed, 1 failed"; exit 2 ;;
esac
plain_args=1
for a in "$@"; do
  case "$a" in -*) plain_args=0 ;; esac
done
if [ "$plain_args" -eq 1 ] && [ "$lanes" -gt 1 ] && [ "$(wc -l <"$WORK/files")" -gt 1 ]; then
  if [ "$reporter" = tap ]; then echo_mode=full; else echo_mode=files; fi
  node "$ROOT/scripts/test-lanes.mjs" --lanes="$lanes" --files="$WORK/files" --durations="$ROOT/test/file-durations.tsv" \
    --raw="$RAW" --echo="$echo_mode" -- "$TAP_BIN" --jobs=1 --disable-coverage --timeout=240 --reporter=tap
  tap_rc=$?
elif [ "$user_reporter" -eq 1 ]; then
  "$TAP_BIN" "${opts[@]}" --output-file="$RAW" "$@"
  tap_rc=$?
elif [ "$reporter" = tap ]; then
  # tap's own --output-file with the tap reporter prints everything twice: tee instead.
  "$TAP_BIN" "${opts[@]}" --reporter=tap "$@" | tee "$RAW"
  tap_rc=${PIPESTATUS[0]}
else
  "$TAP_BIN" "${opts[@]}" --reporter="$reporter" --output-file="$RAW" "$@"
  tap_rc=$?
fi

node - "$RAW" "$WORK/files" "$tap_rc" "$WORK/summary" <<'EOF'
const fs = require('node:fs')
const [rawPath, filesPath, tapRcArg, summaryPath] = process.argv.slice(2)
const tapRc = Number(tapRcArg)
const lines = fs.readFileSync(rawPath, 'utf8').split(/\r?\n/)
const expected = fs.readFileSync(filesPath, 'utf8').split('\n').map(s => s.trim()).filter(Boolean)

// "ok 3 - name # SKIP why" -> { ok, name, directive }
const RESULT = /^(not )?ok\b(?:\s+\d+)?(?:\s+-)?\s*(.*)$/
const parseResult = body => {
  const m = RESULT.exec(body)
  if (!m) return null
  let rest = m[2]
  let buffered = false
  if (/\s\{$/.test(rest)) { buffered = true; rest = rest.replace(/\s*\{$/, '') }
  let directive = null
  // the first unescaped " # " starts a directive (SKIP, TODO) or tap's "# time=..."
  const d = /(^|[^\\])#\s*(SKIP|TODO|time=)(\S*)/i.exec(rest)
  let name = rest
  if (d) {
    name = rest.slice(0, d.index + d[1].length)
    const kind = d[2].toUpperCase()
    if (kind === 'SKIP' || kind === 'TODO') directive = kind
  }
  name = name.replace(/\s+$/, '').replace(/\\#/g, '#')
  return { ok: !m[1], name, directive, buffered }
}

const files = new Map() // name -> { name, passed, failed, skipped, failures[], result, reason }
const orphans = []
let cur = null
let pendingSub = false
let yamlFor = null // file whose result diagnostics (2-space YAML) follow
let bailout = null

const openFile = name => {
  if (cur) closeFile(null) // previous block never got its result line
  cur = { name, passed: 0, failed: 0, skipped: 0, counted: 0, failures: [], result: undefined, reason: '' }
  files.set(name, cur)
  pendingSub = false
}
const closeFile = res => {
  const f = cur
  cur = null
  pendingSub = false
  if (!f) return
  if (!res) { f.result = false; f.reason = 'no result line'; return }
  f.result = res.ok
  f.directive = res.directive
  if (res.name !== f.name) { f.result = false; f.reason = `ended by "${res.name}"` }
  yamlFor = f
}

for (const line of lines) {
  if (/^Bail out!/.test(line)) { bailout = line; continue }
  // diagnostics of a file's result: exitCode / signal / expired
  if (yamlFor && /^  \S/.test(line)) {
    const m = /^  (exitCode|signal|expired):\s*(.*)$/.exec(line)
    if (m && m[2] !== 'null' && m[2] !== '') yamlFor[m[1]] = m[2]
    continue
  }
  if (/^\S/.test(line)) yamlFor = null
  let m
  if ((m = /^# Subtest: (.*)$/.exec(line))) { openFile(m[1].trim()); continue }
  if (/^(not )?ok\b/.test(line)) {
    const res = parseResult(line)
    if (res && res.buffered) { openFile(res.name); cur.pendingResult = res; continue }
    if (cur) { closeFile(res); continue }
    if (res && expected.includes(res.name) && !files.has(res.name)) {
      // a file result without a subtest block
      cur = { name: res.name, passed: 0, failed: 0, skipped: 0, counted: 0, failures: [], result: undefined, reason: '' }
      files.set(res.name, cur)
      closeFile(res)
      continue
    }
    if (res && !res.ok && res.directive !== 'TODO') orphans.push(res.name)
    continue
  }
  if (line === '}' && cur && cur.pendingResult) { closeFile(cur.pendingResult); continue }
  if (!cur) continue
  // inside a file: its top-level subtests are indented by exactly 4 spaces
  if (/^    # Subtest: /.test(line)) { pendingSub = true; continue }
  if ((m = /^    ((?:not )?ok\b.*)$/.exec(line))) {
    const res = parseResult(m[1])
    if (!res) continue
    const isSub = pendingSub || res.buffered || res.directive !== null
    pendingSub = false
    if (res.directive) { cur.skipped++; cur.counted++; continue }
    if (!res.ok) { cur.failed++; cur.counted++; cur.failures.push(res.name); continue }
    if (isSub) { cur.passed++; cur.counted++ }
    // a passing top-level assertion (not a subtest) is not counted
  }
}
if (cur) closeFile(null)

let passed = 0, failed = 0, skipped = 0
const failedNames = []
for (const f of files.values()) {
  passed += f.passed
  failed += f.failed
  skipped += f.skipped
  for (const n of f.failures) failedNames.push(`${f.name} > ${n}`)
  const fileFailed = f.result === false
  if (fileFailed && f.failed === 0) {
    failed++
    const why = []
    if (f.reason) why.push(f.reason)
    if (f.expired || f.signal === 'SIGALRM') why.push('timed out')
    else if (f.signal) why.push(`killed by ${f.signal}`)
    if (f.exitCode) why.push(`exit code ${f.exitCode}`)
    failedNames.push(`${f.name} (file failed${why.length ? ': ' + why.join(', ') : ''})`)
  } else if (!fileFailed && f.counted === 0) {
    // a file without subtests is one test
    if (f.directive) skipped++
    else passed++
  }
}
// Files tap was to run but reported nothing for, and runner-level failures not tied to a
// file (tap 21 can report a timed-out file a second time as "timeout!" and lose the result
// of the file after it: these usually describe the same loss).
const missing = expected.filter(n => !files.has(n))
for (const n of missing) failedNames.push(`${n} (no result reported by tap)`)
if (orphans.length > missing.length) {
  for (const n of orphans.slice(missing.length)) failedNames.push(`(tap) ${n}`)
}
failed += Math.max(missing.length, orphans.length)
if (bailout) failedNames.push(`(tap) ${bailout}`)
if (tapRc !== 0 && failed === 0) {
  failed++
  failedNames.push(`(tap exited with code ${tapRc} without a failing test)`)
}

const out = []
out.push('')
if (failedNames.length) {
  out.push(`Failed (${failedNames.length}):`)
  for (const n of failedNames) out.push(`  - ${n}`)
}
const summary = `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`
out.push(summary)
process.stdout.write(out.join('\n') + '\n')
fs.writeFileSync(summaryPath, summary + '\n')
process.exitCode = failed > 0 || tapRc !== 0 ? 1 : 0
EOF
parse_rc=$?
if [ ! -s "$WORK/summary" ]; then
  echo "run-tests.sh: could not count the results (parser exit $parse_rc)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
[ "$tap_rc" -ne 0 ] && exit "$tap_rc"
exit "$parse_rc"
