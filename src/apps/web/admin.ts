import { api } from './api.js';
import { badge, el, errorText, show, table, when } from './dom.js';
import { isAdmin, Me } from './view.js';

async function section(container: Element, title: string, build: () => Promise<Node>): Promise<void> {
  show(container, el('h2', {}, title), 'Loading…');
  try {
    show(container, el('h2', {}, title), await build());
  } catch (error) {
    show(container, el('h2', {}, title), el('p', { class: 'error' }, errorText(error)));
  }
}

/** Provider nodes (a provider admin's own, a platform admin's all): state, island, size, last heartbeat. */
export function showNodes(container: Element): Promise<void> {
  return section(container, 'Nodes', async () => {
    const { items } = await api<{ items: any[] }>('GET', '/v1/nodes?limit=500');
    const rows = items.map((node) => [
      node.name,
      badge(node.state),
      node.island ?? '',
      node.inventory ? `${node.inventory.cpus} CPUs, ${node.inventory.memoryMb} MiB` : '',
      node.health ?? '',
      node.drainedReason ?? '',
      when(node.lastHeartbeatAt),
    ]);
    return rows.length
      ? table(['Name', 'State', 'Island', 'Size', 'Health', 'Drained because', 'Last heartbeat'], rows, { id: 'nodes' })
      : el('p', {}, 'No nodes.');
  });
}

/** What waits where: each island's pending jobs next to what it could start now. */
export function showQueues(container: Element): Promise<void> {
  return section(container, 'Queues', async () => {
    const { items } = await api<{ items: any[] }>('GET', '/v1/islands');
    const rows = items.map((island) => [
      island.name,
      island.queue?.pendingJobs ?? 0,
      island.capacity ? `${island.capacity.cpusFree}/${island.capacity.cpus}` : '',
      island.capacity ? `${island.capacity.usableNodes}/${island.capacity.nodes}` : '',
      island.reachable ? 'yes' : 'no',
    ]);
    return table(['Island', 'Pending jobs', 'CPUs free', 'Usable nodes', 'SLURM answers'], rows, { id: 'queues' });
  });
}

const budget = (state: any) =>
  state && state.budget !== null ? `${state.spent} spent, ${state.reserved} reserved of ${state.monthlyLimit} ${state.denom}` : 'no budget';

/** This month's spending: every tenant's for platform admins, one's own otherwise; and rewards by epoch. */
export function showUsage(container: Element, me: Me): Promise<void> {
  return section(container, 'Usage', async () => {
    if (!isAdmin(me)) return el('p', { id: 'own-budget' }, `This month: ${budget(await api('GET', `/v1/principals/${me.id}/budget`))}`);
    const { items } = await api<{ items: any[] }>('GET', '/v1/principals');
    const budgets = await Promise.all(items.map((p) => api('GET', `/v1/principals/${p.id}/budget`).catch(() => null)));
    const tenants = table(
      ['Principal', 'Kind', 'POSIX account', 'This month'],
      items.map((p, i) => [p.name, p.kind, p.slurmUser ?? '', budget(budgets[i])]),
      { id: 'usage' },
    );
    const rewards = await api<{ items?: any[] }>('GET', '/v1/rewards').catch(() => ({ items: [] }));
    const lines = (rewards.items ?? []).map((r: any) => [r.epoch, r.kind, r.beneficiary, `${r.amount} ${r.denom}`, r.jobs]);
    return el(
      'div',
      {},
      tenants,
      el('h3', {}, 'Rewards'),
      lines.length ? table(['Epoch', 'Kind', 'Beneficiary', 'Amount', 'Jobs'], lines, { id: 'rewards' }) : el('p', {}, 'No rewards yet.'),
    );
  });
}
