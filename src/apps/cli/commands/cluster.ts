import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { IslandNodeView, islandNodesTable, islandsTable, IslandView, nodesTable, NodeView } from '../cluster-tables';
import { clientFor, Context, printJson } from '../context';
import { CliError, ExitCode, usage } from '../exit-codes';

export async function islands(context: Context): Promise<number> {
  const { items } = await clientFor(context).json<{ items: IslandView[] }>('GET', '/v1/islands');
  if (context.json) printJson(context, { islands: items });
  else context.out(islandsTable(items));
  return ExitCode.OK;
}

/**
 * `sinfo`: the islands (as `islands`), or with `-N` every island's SLURM nodes, one per line.
 * `--island` narrows to the named islands; an island that does not exist is a 404 (exit 66).
 */
export async function sinfo(context: Context, values: Record<string, any>): Promise<number> {
  const client = clientFor(context);
  const wanted: string[] | undefined = typeof values.island === 'string' ? values.island.split(',').filter(Boolean) : undefined;
  if (!values.Node) {
    const { items } = await client.json<{ items: IslandView[] }>('GET', '/v1/islands');
    const shown = wanted ? items.filter((i) => wanted.includes(i.name)) : items;
    const missing = wanted?.filter((name) => !items.some((i) => i.name === name)) ?? [];
    if (missing.length) throw new CliError(`sinfo: no island named ${missing.join(', ')}`, ExitCode.NOT_FOUND);
    if (context.json) printJson(context, { islands: shown });
    else context.out(islandsTable(shown));
    return ExitCode.OK;
  }
  // Named islands are asked for directly: one that does not exist is the API's 404.
  const names = wanted ?? (await client.json<{ items: IslandView[] }>('GET', '/v1/islands')).items.map((i) => i.name);
  const details = await Promise.all(
    names.map((name) => client.json<IslandView & { nodes?: IslandNodeView[] }>('GET', `/v1/islands/${encodeURIComponent(name)}`)),
  );
  const rows = details.flatMap((island) => (island.nodes ?? []).map((node) => ({ island: island.name, node })));
  if (context.json) printJson(context, { nodes: rows.map((r) => ({ island: r.island, ...r.node })) });
  else context.out(islandNodesTable(rows));
  return ExitCode.OK;
}

async function allNodes(context: Context, state?: string): Promise<NodeView[]> {
  const client = clientFor(context);
  const all: NodeView[] = [];
  let after: string | undefined;
  do {
    const query = new URLSearchParams({ limit: '500' });
    if (state) query.set('state', state);
    if (after) query.set('after', after);
    const page = await client.json<{ items: NodeView[]; nextAfter?: string | null }>('GET', `/v1/nodes?${query}`);
    all.push(...page.items);
    after = page.nextAfter ?? undefined;
  } while (after);
  return all;
}

export async function nodes(context: Context, values: Record<string, any>): Promise<number> {
  const all = await allNodes(context, values.state);
  if (context.json) printJson(context, { nodes: all });
  else context.out(nodesTable(all, context.now()));
  return ExitCode.OK;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A provider node named by its id or its name (names are what `nodes` prints first). */
async function nodeId(context: Context, ref: string): Promise<string> {
  if (UUID.test(ref)) return ref;
  const found = (await allNodes(context)).filter((n) => n.name === ref);
  if (found.length === 0) throw new CliError(`node: no node named "${ref}" that you can see`, ExitCode.NOT_FOUND);
  if (found.length > 1) throw usage(`node: ${found.length} nodes are named "${ref}"; give the id (${found.map((n) => n.id).join(', ')})`);
  return found[0].id;
}

/**
 * `node drain|resume|remove NODE...` (provider or platform admins): scontrol's
 * `update nodename=… state=drain reason=…` / `state=resume` and deregistration. Each node's
 * outcome is printed; the exit code is the first failure's.
 */
export async function nodeAdmin(context: Context, action: 'drain' | 'resume' | 'remove', values: Record<string, any>, refs: string[]): Promise<number> {
  if (refs.length === 0) throw usage(`node ${action}: name at least one node (its name or id, as "archipelago nodes" prints)`);
  if (action === 'drain' && (typeof values.reason !== 'string' || values.reason.trim() === '')) {
    throw usage('node drain: --reason is required (it is kept with the node until it is resumed), as scontrol asks');
  }
  const client = clientFor(context);
  const results: unknown[] = [];
  let exitCode: number = ExitCode.OK;
  for (const ref of refs) {
    try {
      const id = await nodeId(context, ref);
      const node =
        action === 'drain'
          ? await client.json<NodeView>('POST', `/v1/nodes/${id}/drain`, { reason: values.reason })
          : action === 'resume'
            ? await client.json<NodeView>('POST', `/v1/nodes/${id}/resume`)
            : await client.json<NodeView>('DELETE', `/v1/nodes/${id}`);
      results.push(node);
      if (!context.json) context.out(`node ${node.name} (${node.id}): ${node.state}`);
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      results.push({ node: ref, error: error.message, exitCode: error.exitCode });
      if (!context.json) context.err(`node ${action}: ${ref}: ${error.message}`);
      if (exitCode === ExitCode.OK) exitCode = error.exitCode;
    }
  }
  if (context.json) printJson(context, { nodes: results });
  return exitCode;
}

/**
 * `node join`: the node agent's own join (it owns the key, the signed challenge and the state
 * file), pointed at the configured server. Everything after `join` goes to the agent unchanged.
 */
export function nodeJoin(context: Context, args: string[]): Promise<number> {
  const agent = join(__dirname, '..', '..', 'agent', 'main.js');
  const child = spawn(process.execPath, [agent, 'join', '--server', context.settings.url, ...args], { stdio: 'inherit' });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? ExitCode.INTERNAL)));
}
