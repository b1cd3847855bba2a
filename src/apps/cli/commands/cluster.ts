import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { islandsTable, IslandView, nodesTable, NodeView } from '../cluster-tables';
import { clientFor, Context, printJson } from '../context';
import { ExitCode } from '../exit-codes';

export async function islands(context: Context): Promise<number> {
  const { items } = await clientFor(context).json<{ items: IslandView[] }>('GET', '/v1/islands');
  if (context.json) printJson(context, { islands: items });
  else context.out(islandsTable(items));
  return ExitCode.OK;
}

export async function nodes(context: Context, values: Record<string, any>): Promise<number> {
  const client = clientFor(context);
  const all: NodeView[] = [];
  let after: string | undefined;
  do {
    const query = new URLSearchParams({ limit: '500' });
    if (values.state) query.set('state', values.state);
    if (after) query.set('after', after);
    const page = await client.json<{ items: NodeView[]; nextAfter?: string | null }>('GET', `/v1/nodes?${query}`);
    all.push(...page.items);
    after = page.nextAfter ?? undefined;
  } while (after);
  if (context.json) printJson(context, { nodes: all });
  else context.out(nodesTable(all, context.now()));
  return ExitCode.OK;
}

/**
 * `node join`: the node agent's own join (it owns the key, the signed challenge and the state
 * file), pointed at the configured server. Everything after `join` goes to the agent unchanged.
 */
export function nodeJoin(context: Context, args: string[]): Promise<number> {
  const agent = join(__dirname, '..', '..', 'agent', 'main.js');
  const child = spawn(process.execPath, [agent, 'join', '--server', context.settings.url, ...args], { stdio: 'inherit' });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? ExitCode.FAILURE)));
}
