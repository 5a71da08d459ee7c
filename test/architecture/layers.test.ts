import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import {
  controlSqlOutsideStore, endingsOutsideEndDeployment, importCycles, layerViolations, LAYERS, readImportGraph, type ImportGraph
} from './import-graph.js'

// The shape ARCHITECTURE.md describes, checked on every run: layers that only point down, no
// import cycles, SQL for the control database only in src/store/, one place that ends deployments.

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url))
const graph = readImportGraph(PROJECT_ROOT)
const count = [...graph.imports.values()].reduce((sum, targets) => sum + targets.length, 0)

function report (t: Test, title: string, findings: string[]): void {
  t.comment(`${title}: ${findings.length === 0 ? 'none' : `${findings.length}\n  ${findings.join('\n  ')}`}`)
  t.same(findings, [], title)
}

t.test('layers only point down', async (t) => {
  const layers = LAYERS.map((l) => `${l.layer} (${l.areas.join(', ')})`).join(' → ')
  t.comment(`${graph.imports.size} files, ${count} imports between them; layers, top to bottom: ${layers}`)
  report(t, 'imports that break the layer rules', layerViolations(graph))
})

t.test('no import cycles', async (t) => {
  report(t, 'import cycles', importCycles(graph).map((cycle) => cycle.join(' → ')))
})

t.test('SQL on the control database only in src/store/', async (t) => {
  report(t, 'control-database SQL outside src/store/', controlSqlOutsideStore(PROJECT_ROOT, graph))
})

t.test('a deployment ends in one place: pipeline/end-deployment.ts', async (t) => {
  report(t, 'final status changes outside pipeline/end-deployment.ts', endingsOutsideEndDeployment(PROJECT_ROOT, graph))
})

t.test('the checks find what they look for', async (t) => {
  // A made-up graph with one of each fault: the rules are not vacuous.
  const made: ImportGraph = {
    imports: new Map([
      ['src/store/deployments.ts', ['src/pipeline/run-phase.ts', 'src/domain/index.ts']],
      ['src/pipeline/run-phase.ts', ['src/store/deployments.ts']],
      ['src/handlers/index.ts', ['src/backup/index.ts']],
      ['src/backup/index.ts', []],
      ['src/domain/index.ts', ['src/lib/checksum.ts']],
      ['src/lib/checksum.ts', []],
      ['src/brand-new/thing.ts', []]
    ])
  }
  const violations = layerViolations(made)
  t.match(violations, [
    /src\/brand-new is in no layer/,
    /store\/deployments\.ts imports src\/pipeline\/run-phase\.ts: upward/,
    /handlers\/index\.ts imports src\/backup\/index\.ts: sideways/,
    /domain is a leaf/
  ])
  t.equal(violations.length, 4)
  t.same(importCycles(made), [['src/pipeline/run-phase.ts', 'src/store/deployments.ts']])
})
