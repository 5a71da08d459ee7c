import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'

/**
 * The layers of src/, top to bottom (ARCHITECTURE.md explains them). A file may import files of
 * its own area (the first folder under src/, or a top-level file's name) and of areas in LOWER
 * layers; never an area of its own layer or of a higher one.
 */
export const LAYERS: ReadonlyArray<{ layer: string, areas: readonly string[] }> = [
  { layer: 'command line', areas: ['cli'] },
  { layer: 'process entries', areas: ['server', 'worker', 'openapi-document'] },
  { layer: 'process wiring', areas: ['process'] },
  { layer: 'HTTP app', areas: ['app'] },
  { layer: 'HTTP routes and plugins', areas: ['api'] },
  { layer: 'API contract', areas: ['schemas'] },
  { layer: 'pipeline', areas: ['pipeline', 'notifications'] },
  { layer: 'tools', areas: ['handlers', 'backup', 'metrics'] },
  { layer: 'SQL analysis', areas: ['analysis'] },
  { layer: 'control database and queue', areas: ['store', 'queue'] },
  { layer: 'identity', areas: ['auth'] },
  { layer: 'configuration', areas: ['config', 'logger'] },
  { layer: 'vocabulary and utilities', areas: ['domain', 'lib'] },
  { layer: 'errors', areas: ['errors'] }
]

/** Areas that import nothing of ours outside themselves. */
export const LEAVES = ['domain', 'errors']

export interface ImportGraph {
  /** File (relative to the root, `src/...`) → the src files it imports. */
  imports: Map<string, string[]>
}

// `import … from './x.js'` / `export … from './x.js'` (names, `* as`, default, type-only), `import './x.js'`, `import('./x.js')`.
const IMPORT = new RegExp([
  String.raw`(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:\{[^}]*\}|\*(?:\s+as\s+\w+)?|\w+(?:\s*,\s*\{[^}]*\})?)\s+from\s+['"](\.[^'"]+)['"]`,
  String.raw`(?:^|\n)\s*import\s+['"](\.[^'"]+)['"]`,
  String.raw`\bimport\s*\(\s*['"](\.[^'"]+)['"]\s*\)`
].join('|'), 'g')

function filesUnder (directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const full = path.join(directory, name)
    return statSync(full).isDirectory() ? filesUnder(full) : full.endsWith('.ts') ? [full] : []
  })
}

function resolveImport (from: string, specifier: string): string | undefined {
  const target = path.resolve(path.dirname(from), specifier)
  for (const candidate of [target.replace(/\.js$/, '.ts'), `${target}.ts`, path.join(target, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate
  }
  return undefined
}

/** Reads every import between the .ts files under `root/src`. */
export function readImportGraph (root: string): ImportGraph {
  const imports = new Map<string, string[]>()
  for (const file of filesUnder(path.join(root, 'src'))) {
    const text = readFileSync(file, 'utf8')
    const targets = [...text.matchAll(IMPORT)]
      .map((match) => match[1] ?? match[2] ?? match[3] ?? '')
      .map((specifier) => resolveImport(file, specifier))
      .filter((target): target is string => target !== undefined)
      .map((target) => path.relative(root, target))
    imports.set(path.relative(root, file), [...new Set(targets)])
  }
  return { imports }
}

/** `src/pipeline/run-phase.ts` → `pipeline`; `src/worker.ts` → `worker`. */
export function areaOf (file: string): string {
  const parts = file.split(path.sep).slice(1)
  return parts.length === 1 ? (parts[0] as string).replace(/\.ts$/, '') : parts[0] as string
}

function layerIndex (area: string): number {
  return LAYERS.findIndex((layer) => layer.areas.includes(area))
}

/** Imports that break the layer rules: upward, sideways within a layer, out of a leaf, or from an area in no layer. */
export function layerViolations (graph: ImportGraph): string[] {
  const found: string[] = []
  for (const area of new Set([...graph.imports.keys()].map(areaOf))) {
    if (layerIndex(area) === -1) found.push(`src/${area} is in no layer: add it to LAYERS in test/architecture/import-graph.ts and ARCHITECTURE.md`)
  }
  for (const [file, targets] of graph.imports) {
    const from = areaOf(file)
    for (const target of targets) {
      const to = areaOf(target)
      if (from === to) continue
      const [a, b] = [layerIndex(from), layerIndex(to)]
      if (a === -1 || b === -1) continue
      if (LEAVES.includes(from)) {
        found.push(`${file} imports ${target}: ${from} is a leaf and imports nothing of ours`)
        continue
      }
      const [fromLayer, toLayer] = [LAYERS[a]?.layer ?? '', LAYERS[b]?.layer ?? '']
      if (b < a) found.push(`${file} imports ${target}: upward (${from}, layer "${fromLayer}", may not import ${to}, layer "${toLayer}")`)
      else if (b === a) found.push(`${file} imports ${target}: sideways (${from} and ${to} share the layer "${fromLayer}"; move one down)`)
    }
  }
  return found
}

/** Import cycles between files (strongly connected components of more than one file, or a file importing itself). */
export function importCycles (graph: ImportGraph): string[][] {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const cycles: string[][] = []
  let next = 0
  const visit = (file: string): void => {
    index.set(file, next)
    low.set(file, next)
    next++
    stack.push(file)
    onStack.add(file)
    for (const target of graph.imports.get(file) ?? []) {
      if (!index.has(target)) {
        visit(target)
        low.set(file, Math.min(low.get(file) as number, low.get(target) as number))
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file) as number, index.get(target) as number))
      }
    }
    if (low.get(file) !== index.get(file)) return
    const component: string[] = []
    let member: string
    do {
      member = stack.pop() as string
      onStack.delete(member)
      component.push(member)
    } while (member !== file)
    if (component.length > 1 || (graph.imports.get(file) ?? []).includes(file)) cycles.push(component.sort())
  }
  for (const file of graph.imports.keys()) if (!index.has(file)) visit(file)
  return cycles
}

/** The control database's tables, from its migrations. */
export function controlTables (root: string): string[] {
  const directory = path.join(root, 'src/store/migrations')
  const files = readdirSync(directory).map((name) => path.join(directory, name, 'migration.sql')).filter(existsSync)
  const sql = files.map((file) => readFileSync(file, 'utf8')).join('\n')
  return [...new Set([...sql.matchAll(/CREATE TABLE "?([a-z_]+)"?/g)].map((match) => match[1] as string))]
}

/** Files outside src/store/ whose SQL reads or writes a control-database table. */
export function controlSqlOutsideStore (root: string, graph: ImportGraph): string[] {
  const tables = controlTables(root).join('|')
  const statement = new RegExp(`\\b(?:FROM|INTO|UPDATE|JOIN|TABLE)\\s+"?(?:${tables})"?\\b`)
  return [...graph.imports.keys()]
    .filter((file) => areaOf(file) !== 'store')
    .flatMap((file) => readFileSync(path.join(root, file), 'utf8').split('\n').map((line, i) => ({ line, at: `${file}:${i + 1}` })))
    .filter(({ line }) => statement.test(line))
    .map(({ line, at }) => `${at}: SQL on a control-database table outside src/store/: ${line.trim().slice(0, 120)}`)
}

/** Places other than pipeline/end-deployment.ts that move a deployment to a final status. */
export function endingsOutsideEndDeployment (root: string, graph: ImportGraph): string[] {
  const final = /status:\s*'(?:succeeded|failed|rejected|cancelled|expired)'/
  return [...graph.imports.keys()]
    .filter((file) => file !== path.join('src', 'pipeline', 'end-deployment.ts') && areaOf(file) !== 'store')
    .flatMap((file) => {
      const text = readFileSync(path.join(root, file), 'utf8')
      return [...text.matchAll(/transitionDeployment\(/g)].flatMap((match) => {
        const call = text.slice(match.index, text.indexOf('})', match.index) + 2)
        return final.test(call) ? [`${file}:${text.slice(0, match.index).split('\n').length}: ends a deployment outside pipeline/end-deployment.ts`] : []
      })
    })
}
