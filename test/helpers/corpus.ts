import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url))

/**
 * documenso's 163 Prisma migrations, a real history kept outside the repository: the folder
 * DOCUMENSO_CORPUS_DIR names, or `../shared/corpus/documenso` beside the project (CI has it).
 */
export const DOCUMENSO = path.resolve(process.env.DOCUMENSO_CORPUS_DIR ?? path.join(PROJECT_ROOT, '../shared/corpus/documenso'))

/**
 * tap's `skip` for a test over the corpus: the reason, in one line, when it is not at the default
 * place (a fresh clone has no `../shared`); false when it is there, and false when
 * DOCUMENSO_CORPUS_DIR names it, so a missing corpus that was asked for fails instead of skipping.
 */
export function documensoSkip (): string | false {
  if (existsSync(DOCUMENSO) || process.env.DOCUMENSO_CORPUS_DIR !== undefined) return false
  return `the documenso corpus is not at ${DOCUMENSO}: set DOCUMENSO_CORPUS_DIR to its folder to run this test (README, Development)`
}
