import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, REPO } from '../support/control-plane';
import { allBlocks, DocBlock } from '../support/doc-commands';

/** How long one documented command may keep failing before the docs are wrong (a job still starting). */
const RETRY_SECONDS = 90;

/**
 * The documentation's shell blocks, as a reader would type them on a fresh `npm run up` stack:
 * every block is marked run or by hand; the run ones go, in document order, through bash in a
 * directory laid out like the repository (`.stack/` with alice's and the admin's keys and the
 * development wallet, `dist/`), against a fresh control plane standing in for 127.0.0.1:8080.
 * `curl` fails on an HTTP error (--fail-with-body) and `archipelago` is the built CLI. A command
 * that fails is tried again for a while, as a reader would once the job has started; one that
 * still fails fails the test with its output.
 */
describe('documented commands run as written', { timeout: 600_000 }, () => {
  const blocks = allBlocks(REPO);
  const sandbox = mkdtempSync(join(tmpdir(), 'archipelago-docs-'));
  const stack = join(sandbox, '.stack');
  let cp: ControlPlane;

  before(async () => {
    mkdirSync(join(sandbox, 'home'));
    mkdirSync(stack);
    symlinkSync(join(REPO, 'dist'), join(sandbox, 'dist'));
    const wallet = spawnSync(process.execPath, [join(REPO, 'dist/src/apps/devstack/dev-wallet.js'), stack, '--slurm-user', 'alice'], { encoding: 'utf8' });
    assert.equal(wallet.status, 0, wallet.stderr);
    cp = new ControlPlane('docs_commands', {
      islands: [{ name: 'local-a' }],
      redisDb: 2,
      env: { CHAIN_RPC_URL: '', ARCHIPELAGO_DEV_IDENTITY_FILE: join(stack, 'dev-identities.json') },
    });
    await cp.start();
    writeFileSync(join(stack, 'admin.key'), `${cp.adminKey}\n`, { mode: 0o600 });
    writeFileSync(join(stack, 'alice.key'), `${(await cp.researcher('alice', 'alice')).key}\n`, { mode: 0o600 });
  });
  after(async () => {
    await cp?.stop();
    rmSync(sandbox, { recursive: true, force: true });
  });

  it('every shell block of README.md and docs/*.md is marked "run" or "by hand: why"', () => {
    assert.ok(blocks.length >= 10, `found ${blocks.length} blocks`);
    const unmarked = blocks.filter((b) => b.mark === null).map((b) => `${b.file}:${b.line}`);
    assert.deepEqual(unmarked, [], 'add <!-- docs-test: run --> or <!-- docs-test: by hand: why --> before each');
    const byHand = blocks.filter((b) => b.mark?.kind === 'by-hand');
    // The release checklist: these are checked by hand.
    for (const b of byHand) console.log(`by hand: ${b.file}:${b.line}: ${(b.mark as { why: string }).why}`);
  });

  it('the blocks marked "run" run, in document order', async () => {
    const runnable = blocks.filter((b) => b.mark?.kind === 'run');
    assert.ok(runnable.length >= 3, "the README's own examples are run");
    const script = bashScript(runnable, cp.url);
    // The CLI's default server is 127.0.0.1:8080, the stack's; here the fresh control plane stands in.
    const run = await bash(script, sandbox, { ARCHIPELAGO_URL: cp.url });
    assert.equal(run.code, 0, `${run.stderr.slice(-3000)}\n--- stdout ---\n${run.stdout.slice(-3000)}`);
    assert.match(run.stdout, /Submitted batch job \d+/);
    assert.match(run.stdout, /hello from/);
  });
});

/** One bash script: helpers, then each command in a file of its own, sourced (so variables carry on) until it succeeds. */
function bashScript(blocks: DocBlock[], url: string): string {
  const lines = [
    'curl() { command curl --fail-with-body --max-time 60 "$@"; }',
    `archipelago() { node ${JSON.stringify(join(REPO, 'dist/src/apps/cli/main.js'))} "$@"; }`,
    `retry() { local start=$SECONDS; until source "$1"; do if [ $((SECONDS - start)) -ge ${RETRY_SECONDS} ]; then echo "FAILED ($2): $(cat "$1")" >&2; return 1; fi; sleep 3; done; }`,
    'mkdir -p .commands',
  ];
  let n = 0;
  for (const block of blocks) {
    for (const command of block.commands) {
      const file = `.commands/${++n}.sh`;
      const text = command.replaceAll('http://127.0.0.1:8080', url);
      lines.push(`cat > ${file} <<'ARCHIPELAGO_DOC_COMMAND'\n${text}\nARCHIPELAGO_DOC_COMMAND`);
      lines.push(`echo "\\$ $(head -1 ${file})"; retry ${file} ${JSON.stringify(`${block.file}:${block.line}`)} || exit 1`);
    }
  }
  return lines.join('\n');
}

function bash(script: string, cwd: string, extraEnv: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: join(cwd, 'home'), ...extraEnv };
    const child = spawn('bash', ['-c', script], { cwd, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
