import { Tier, TIERS } from './tiers';

/** The actions the VEID gate guards. */
export const GATED_ACTIONS = ['submit', 'submit_multi_node', 'submit_gpu', 'provider_join'] as const;
export type GatedAction = (typeof GATED_ACTIONS)[number];

export interface VeidPolicy {
  /** Minimum tier per action. */
  actions: Record<GatedAction, Tier>;
  /** Minimum tier to submit to a partition, on top of the action's (the stricter wins). */
  partitions: Record<string, Tier>;
  /** Actions that proceed when the chain cannot be asked; all others fail closed with 503. */
  failOpen: ReadonlySet<GatedAction>;
  /**
   * Principals with no chain address (API keys of principals created by an admin): `exempt`
   * keeps today's behaviour for them, `deny` refuses every gated action.
   */
  unlinked: 'exempt' | 'deny';
}

export const DEFAULT_VEID_POLICY: VeidPolicy = {
  actions: { submit: 'basic', submit_multi_node: 'standard', submit_gpu: 'standard', provider_join: 'standard' },
  partitions: {},
  failOpen: new Set(),
  unlinked: 'exempt',
};

/** What a job asks for, as far as the gate cares. */
export interface JobGateFacts {
  nodes: number;
  gpus: boolean;
  partitions: string[];
}

/** The actions a submission counts as: every submission is `submit`; bigger ones add more. */
export function submissionActions(job: JobGateFacts): GatedAction[] {
  const actions: GatedAction[] = ['submit'];
  if (job.nodes > 1) actions.push('submit_multi_node');
  if (job.gpus) actions.push('submit_gpu');
  return actions;
}

/** The strictest tier among the actions and partitions, and what set it (for the refusal). */
export function requiredTier(policy: VeidPolicy, actions: GatedAction[], partitions: string[] = []): { tier: Tier; because: string } {
  let best: { tier: Tier; because: string } = { tier: 'unverified', because: 'no requirement' };
  const consider = (tier: Tier, because: string) => {
    if (TIERS.indexOf(tier) > TIERS.indexOf(best.tier)) best = { tier, because };
  };
  for (const action of actions) consider(policy.actions[action], `action ${action}`);
  for (const partition of partitions) if (policy.partitions[partition]) consider(policy.partitions[partition], `partition ${partition}`);
  return best;
}

/**
 * `ARCHIPELAGO_VEID_POLICY`: comma-separated `action=tier` and `partition:<name>=tier`, e.g.
 * `submit=basic,submit_gpu=premium,partition:gpu=premium`. Unlisted actions keep their default.
 */
export function parseVeidPolicy(text: string | undefined, failOpenText: string | undefined, unlinked: string | undefined): VeidPolicy {
  const policy: VeidPolicy = {
    actions: { ...DEFAULT_VEID_POLICY.actions },
    partitions: {},
    failOpen: new Set(),
    unlinked: 'exempt',
  };
  for (const entry of (text ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const match = /^(partition:)?([\w.-]+)=(\w+)$/.exec(entry);
    if (!match || !(TIERS as readonly string[]).includes(match[3])) {
      throw new Error(`"${entry}" is not action=tier or partition:<name>=tier (tiers: ${TIERS.join(', ')})`);
    }
    const tier = match[3] as Tier;
    if (match[1]) policy.partitions[match[2]] = tier;
    else if ((GATED_ACTIONS as readonly string[]).includes(match[2])) policy.actions[match[2] as GatedAction] = tier;
    else throw new Error(`unknown action "${match[2]}" (actions: ${GATED_ACTIONS.join(', ')})`);
  }
  const failOpen = new Set<GatedAction>();
  for (const action of (failOpenText ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    if (!(GATED_ACTIONS as readonly string[]).includes(action)) throw new Error(`unknown action "${action}" in the fail-open list`);
    failOpen.add(action as GatedAction);
  }
  policy.failOpen = failOpen;
  if (unlinked !== undefined && unlinked !== '' && unlinked !== 'exempt' && unlinked !== 'deny') throw new Error('unlinked principals are "exempt" or "deny"');
  policy.unlinked = (unlinked as 'exempt' | 'deny' | undefined) || 'exempt';
  return policy;
}
