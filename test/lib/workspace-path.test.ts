import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { BadRequestError } from '../../src/errors/index.js'
import { resolveInsideWorkspace } from '../../src/lib/workspace-path.js'

// realpath: the temp folder may itself sit behind a symlink (macOS /var → /private/var).
const base = realpathSync(mkdtempSync(path.join(tmpdir(), 'md-workspace-')))
t.teardown(() => { rmSync(base, { recursive: true, force: true }) })

// base/ws is the workspace; base/ws-evil and base/outside are beside it, outside.
const root = path.join(base, 'ws')
mkdirSync(path.join(root, 'app', 'prisma', 'migrations'), { recursive: true })
mkdirSync(path.join(root, 'nested', 'deeper'), { recursive: true })
mkdirSync(path.join(base, 'ws-evil'))
mkdirSync(path.join(base, 'outside'))
symlinkSync(path.join(base, 'outside'), path.join(root, 'out-link'))
symlinkSync('../ws-evil', path.join(root, 'sibling-link'))
symlinkSync('/', path.join(root, 'fs-root'))
symlinkSync('app', path.join(root, 'app-alias'))
symlinkSync(path.join(root, 'nested', 'deeper'), path.join(root, 'nested', 'abs-inside'))
symlinkSync('../out-link', path.join(root, 'nested', 'chain-out'))
symlinkSync(path.join(base, 'missing'), path.join(root, 'dangling'))

async function refused (t: Test, requested: string, message: RegExp, workspace = root): Promise<void> {
  await t.rejects(resolveInsideWorkspace(workspace, requested), BadRequestError, `${JSON.stringify(requested)} is refused`)
  try {
    await resolveInsideWorkspace(workspace, requested)
  } catch (error) {
    const bad = error as BadRequestError
    t.equal(bad.statusCode, 400)
    t.match(bad.message, message)
    // Only the path the client sent may appear, never where the workspace really is.
    t.notOk(bad.message.replace(requested, '<requested>').includes(base), 'the server\'s paths are not disclosed')
  }
}

t.test('paths inside the workspace resolve to their real path', async (t) => {
  t.equal(await resolveInsideWorkspace(root, 'app'), path.join(root, 'app'))
  t.equal(await resolveInsideWorkspace(root, 'app/prisma'), path.join(root, 'app', 'prisma'))
  t.equal(await resolveInsideWorkspace(root, './app/'), path.join(root, 'app'))
  t.equal(await resolveInsideWorkspace(root, 'app//prisma/./migrations'), path.join(root, 'app', 'prisma', 'migrations'))
  t.equal(await resolveInsideWorkspace(root, '.'), root, 'the root itself')
})

t.test('symlinks that stay inside are followed', async (t) => {
  t.equal(await resolveInsideWorkspace(root, 'app-alias'), path.join(root, 'app'))
  t.equal(await resolveInsideWorkspace(root, 'app-alias/prisma'), path.join(root, 'app', 'prisma'))
  t.equal(await resolveInsideWorkspace(root, 'nested/abs-inside'), path.join(root, 'nested', 'deeper'), 'an absolute link target inside the root')
  // A workspace root reached through a symlink is compared by its real path.
  const linkedRoot = path.join(base, 'ws-link')
  symlinkSync(root, linkedRoot)
  t.equal(await resolveInsideWorkspace(linkedRoot, 'app'), path.join(root, 'app'))
  t.equal(await resolveInsideWorkspace(linkedRoot, 'app-alias'), path.join(root, 'app'))
})

t.test('".." is refused, even where it would stay inside', async (t) => {
  await refused(t, '..', /contains "\.\."/)
  await refused(t, '../outside', /"\.\.\/outside" contains "\.\."; give a path relative to the workspace root/)
  await refused(t, 'app/../../outside', /contains "\.\."/)
  await refused(t, 'app/..', /contains "\.\."/)
  await refused(t, 'app\\..\\..\\outside', /contains "\.\."/, root)
})

t.test('absolute paths outside the workspace are refused', async (t) => {
  await refused(t, '/etc', /"\/etc" is outside the workspace root/)
  await refused(t, '/', /is outside the workspace root/)
  await refused(t, path.join(base, 'outside'), /is outside the workspace root/)
  await refused(t, path.join(base, 'ws-evil'), /is outside the workspace root/, root)
})

t.test('symlinks that lead out are refused', async (t) => {
  await refused(t, 'out-link', /"out-link" follows a symlink out of the workspace root/)
  await refused(t, 'sibling-link', /follows a symlink out/, root)
  await refused(t, 'fs-root', /follows a symlink out/)
  await refused(t, 'fs-root/etc', /follows a symlink out/)
  await refused(t, 'nested/chain-out', /follows a symlink out/)
})

t.test('paths that do not exist are refused', async (t) => {
  await refused(t, 'no-such-folder', /"no-such-folder" does not exist in the workspace/)
  await refused(t, 'app/prisma/nope', /does not exist/)
  await refused(t, 'dangling', /does not exist/)
  await refused(t, 'bad\0name', /NUL byte/)
  await refused(t, 'app', /workspace root configured on the server does not exist; ask an operator to fix workspace_root/, path.join(base, 'no-root'))
})

t.test('error codes are stable', async (t) => {
  for (const requested of ['..', '/etc', 'out-link', 'no-such-folder']) {
    const error = await resolveInsideWorkspace(root, requested).then(() => undefined, (e: unknown) => e as BadRequestError)
    t.equal(error?.code, 'INVALID_WORKING_DIRECTORY', requested)
  }
  const missingRoot = await resolveInsideWorkspace(path.join(base, 'no-root'), 'app').then(() => undefined, (e: unknown) => e as BadRequestError)
  t.equal(missingRoot?.code, 'WORKSPACE_MISSING')
})
