import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The shell blocks of README.md and docs/*.md. Each carries a mark on the line before its fence:
 * `<!-- docs-test: run -->` (docs-commands.test.ts runs it on a fresh control plane) or
 * `<!-- docs-test: by hand: why -->` (checked by hand before each release: it needs a machine, a
 * cluster or values the reader fills in). A block without a mark fails the test.
 */
export interface DocBlock {
  file: string;
  line: number;
  mark: { kind: 'run' } | { kind: 'by-hand'; why: string } | null;
  /** Logical commands: continuation lines joined, heredoc bodies kept, comment-only lines dropped. */
  commands: string[];
}

const SHELL_FENCE = /^```(bash|sh|shell|console)\s*$/;
const MARK = /^<!--\s*docs-test:\s*(run|by hand:\s*(.+?))\s*-->\s*$/;

export function docFiles(repo: string): string[] {
  return [
    'README.md',
    ...readdirSync(join(repo, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .sort()
      .map((f) => `docs/${f}`),
  ];
}

export function shellBlocks(file: string, text: string): DocBlock[] {
  const lines = text.split('\n');
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!SHELL_FENCE.test(lines[i])) continue;
    const marked = i > 0 ? MARK.exec(lines[i - 1]) : null;
    const mark = marked ? (marked[1] === 'run' ? { kind: 'run' as const } : { kind: 'by-hand' as const, why: marked[2] }) : null;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^```\s*$/.test(lines[j]); j++) body.push(lines[j]);
    blocks.push({ file, line: i + 1, mark, commands: splitCommands(body) });
    i = j;
  }
  return blocks;
}

export function splitCommands(body: readonly string[]): string[] {
  const commands: string[] = [];
  for (let i = 0; i < body.length; i++) {
    if (/^\s*(#.*)?$/.test(body[i])) continue;
    const parts = [body[i]];
    while (/\\\s*(#.*)?$/.test(parts[parts.length - 1]) && i + 1 < body.length) parts.push(body[++i]);
    const heredoc = /<<-?\s*'?"?([A-Za-z_]+)'?"?/.exec(parts.join('\n'));
    if (heredoc) {
      while (i + 1 < body.length) {
        parts.push(body[++i]);
        if (body[i].trim() === heredoc[1]) break;
      }
    }
    commands.push(parts.join('\n'));
  }
  return commands;
}

export function allBlocks(repo: string): DocBlock[] {
  return docFiles(repo).flatMap((file) => shellBlocks(file, readFileSync(join(repo, file), 'utf8')));
}
