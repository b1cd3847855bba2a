import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';

const REPO = join(__dirname, '..', '..', '..');
const SRC = join(REPO, 'src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return entry === 'generated' ? [] : sources(path);
    return entry.endsWith('.ts') ? [path] : [];
  });
}

const files = sources(SRC).map((path) => ({ path: relative(SRC, path), text: readFileSync(path, 'utf8') }));
const migrations = files.filter((f) => f.path.startsWith('adapters/postgres/migrations/'));
const code = files.filter((f) => !f.path.startsWith('adapters/postgres/migrations/'));

/** Tables the migrations create (and do not drop again). */
function tables(): Set<string> {
  const created = new Set<string>();
  for (const { text } of migrations) {
    for (const m of text.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?([a-z_]+)/g)) created.add(m[1]);
  }
  return created;
}

/** Every file whose SQL writes each table; an outbox table counts for the file that declares it (adapters/postgres/outbox.ts writes it). */
function writers(known: Set<string>): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  const add = (table: string, file: string) => found.set(table, (found.get(table) ?? new Set()).add(file));
  for (const { path, text } of code) {
    for (const m of text.matchAll(/\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE)\s+([a-z_]+)\b/g)) {
      if (known.has(m[1]) && !/DO\s*$/.test(text.slice(Math.max(0, m.index! - 12), m.index))) add(m[1], path);
    }
    for (const m of text.matchAll(/:\s*OutboxTable\s*=\s*\{\s*name:\s*'([a-z_]+)'/g)) add(m[1], path);
  }
  return found;
}

/** The "Who owns which table" section of docs/architecture.md: table → owner file (under src/). */
function documentedOwners(): Map<string, string> {
  const doc = readFileSync(join(REPO, 'docs', 'architecture.md'), 'utf8');
  const section = doc.slice(doc.indexOf('### Who owns which table'));
  const owners = new Map<string, string>();
  for (const line of section.split('\n').slice(0, 60)) {
    const cells = /^\| (.+?) \| `([^`]+)`/.exec(line);
    if (!cells) continue;
    for (const table of cells[1].matchAll(/`([a-z_]+)`/g)) owners.set(table[1], cells[2]);
  }
  return owners;
}

describe('one owner per table', () => {
  const known = tables();
  const written = writers(known);

  it('finds the tables and their writers (the scan itself works)', () => {
    assert.ok(known.has('jobs') && known.has('principals') && known.has('usage_outbox'), [...known].join(', '));
    assert.ok(written.get('jobs')?.has('features/jobs/jobs.repository.ts'));
  });

  it('each table is written by one file, a repository (or the outbox declared for it)', () => {
    const problems: string[] = [];
    for (const [table, by] of written) {
      if (by.size !== 1) problems.push(`${table}: written by ${[...by].join(', ')}`);
      const [only] = by;
      if (!only.endsWith('.repository.ts') && !/OutboxTable/.test(code.find((f) => f.path === only)!.text)) {
        problems.push(`${table}: written by ${only}, which is not a repository`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('docs/architecture.md names every table with its writer', () => {
    const owners = documentedOwners();
    const undocumented = [...known].filter((table) => !owners.has(table));
    assert.deepEqual(undocumented, [], 'tables missing from the ownership table');
    for (const [table, by] of written) {
      assert.equal(`${owners.get(table)}`, [...by][0], `docs/architecture.md names the owner of ${table}`);
    }
  });
});
