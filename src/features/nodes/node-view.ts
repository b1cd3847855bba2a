import type { JoinTokenRow } from './join-tokens.repository';
import type { NodeRow, SampleRow } from './nodes.repository';

const iso = (at: Date | null) => (at ? new Date(at).toISOString() : null);

export type JoinTokenState = 'active' | 'revoked' | 'expired' | 'used_up';

export function joinTokenState(row: JoinTokenRow): JoinTokenState {
  if (row.revoked_at || row.provider_disabled) return 'revoked';
  if (row.expired) return 'expired';
  if (row.uses >= row.max_uses) return 'used_up';
  return 'active';
}

export function joinTokenView(row: JoinTokenRow) {
  return {
    id: row.id,
    providerId: row.provider_id,
    prefix: row.prefix,
    state: joinTokenState(row),
    maxUses: row.max_uses,
    uses: row.uses,
    expiresAt: iso(row.expires_at),
    revokedAt: iso(row.revoked_at),
    createdAt: iso(row.created_at),
    createdBy: row.created_by,
  };
}

export function nodeView(row: NodeRow) {
  return {
    id: row.id,
    providerId: row.provider_id,
    name: row.name,
    state: row.state,
    island: row.island,
    slurm: { island: row.slurm_island, drained: row.slurm_drained },
    publicKey: row.public_key,
    inventory: row.inventory,
    tags: row.tags,
    probeAddress: row.probe_address,
    health: row.health,
    capacity: row.capacity,
    slurmdState: row.slurmd_state,
    lastHeartbeatAt: iso(row.last_heartbeat_at),
    lastSeq: Number(row.last_seq),
    drainedReason: row.drained_reason,
    createdAt: iso(row.created_at),
    stateChangedAt: iso(row.state_changed_at),
    deregisteredAt: iso(row.deregistered_at),
  };
}

export function sampleView(row: SampleRow) {
  return {
    from: row.from_node,
    to: row.to_node,
    rttMs: row.rtt_ms,
    loss: row.loss,
    probes: row.probes,
    measuredAt: iso(row.measured_at),
  };
}
