import { api } from './api.js';
import { badge, el, errorText, facts, show } from './dom.js';
import { Block, latencyHeatMap, MatrixNode } from './heatmap.js';
import { Me, seesNodes } from './view.js';

const mb = (value: number) => (value >= 1024 ? `${(value / 1024).toFixed(1)} GiB` : `${value} MiB`);

function capacity(island: any): string {
  const c = island.capacity;
  if (!c) return '';
  const gpus = (c.gpus ?? []).map((g: any) => `${g.free}/${g.total} ${g.model ?? 'GPU'}`).join(', ');
  return `${c.usableNodes}/${c.nodes} nodes usable, ${c.cpusFree}/${c.cpus} CPUs free, ${mb(c.memoryFreeMb)}/${mb(c.memoryMb)} free${gpus ? `, GPUs ${gpus}` : ''}`;
}

function card(island: any): HTMLElement {
  const f = island.formation;
  return el(
    'article',
    { class: 'island', 'data-island': island.name },
    el('h3', {}, island.name, ' ', badge(island.reachable ? 'REACHABLE' : f ? f.state : 'UNREACHABLE')),
    facts([
      ['Origin', island.origin === 'file' ? 'configured' : 'formed from latency'],
      ['Adapter', island.adapter],
      ['Tier', f ? `${f.tier} (bound ${f.boundMs} ms)` : ''],
      [
        'Diameter',
        f?.diameterMs === null || f?.diameterMs === undefined ? '' : `${f.diameterMs} ms (${f.measuredPairs} measured, ${f.inferredPairs} inferred pairs)`,
      ],
      ['Members', f ? f.members.join(', ') || 'none' : ''],
      ['Partitions', (island.partitions ?? []).map((p: any) => (typeof p === 'string' ? p : p.name)).join(', ')],
      ['Capacity', capacity(island)],
      ['Queue', island.queue ? `${island.queue.pendingJobs} pending` : ''],
    ]),
  );
}

/** Nodes in island order (each island's members together, then the rest), so islands are blocks on the diagonal. */
function arrange(nodes: MatrixNode[], matrix: Array<Array<number | null>>, islands: any[]) {
  const byName = new Map(nodes.map((node, index) => [node.name, index]));
  const order: number[] = [];
  const blocks: Block[] = [];
  for (const island of islands) {
    const members = (island.formation?.members ?? []).filter((name: string) => byName.has(name));
    if (!members.length) continue;
    blocks.push({ island: island.name, first: order.length, count: members.length });
    order.push(...members.map((name: string) => byName.get(name)!));
  }
  const placed = new Set(order);
  order.push(...nodes.map((_, index) => index).filter((index) => !placed.has(index)));
  return { nodes: order.map((i) => nodes[i]), matrix: order.map((i) => order.map((j) => matrix[i]?.[j] ?? null)), blocks };
}

/** Islands as sinfo would list them, the formed ones with tier and members, and the RTT matrix as a heat map. */
export async function showIslands(container: Element, me: Me): Promise<void> {
  show(container, el('h2', {}, 'Islands'), 'Loading…');
  try {
    const { items } = await api<{ items: any[] }>('GET', '/v1/islands');
    const configured = items.filter((island) => !island.formation);
    const formed = items.filter((island) => island.formation).sort((a, b) => a.name.localeCompare(b.name));
    const topology = el('section', { id: 'formed-islands' }, el('h2', {}, 'Formed from latency'));
    topology.append(formed.length ? el('div', { class: 'cards' }, ...formed.map(card)) : el('p', {}, 'No island formed from latency.'));
    if (seesNodes(me)) {
      const latency = await api<{ nodes: MatrixNode[]; matrix: Array<Array<number | null>> }>('GET', '/v1/latency');
      const arranged = arrange(latency.nodes, latency.matrix, formed);
      topology.append(
        el('h3', {}, 'Round-trip times between nodes'),
        arranged.nodes.length ? latencyHeatMap(arranged.nodes, arranged.matrix, arranged.blocks) : el('p', {}, 'No node has reported RTTs yet.'),
      );
    }
    show(container, el('section', { id: 'configured-islands' }, el('h2', {}, 'Islands'), el('div', { class: 'cards' }, ...configured.map(card))), topology);
  } catch (error) {
    show(container, el('h2', {}, 'Islands'), el('p', { class: 'error' }, errorText(error)));
  }
}
