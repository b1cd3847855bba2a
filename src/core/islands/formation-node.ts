import type { NodeState } from '../nodes/node-state';

export interface FormationNode {
  id: string;
  name: string;
  state: NodeState;
  island: string | null;
  slurm_island: string | null;
  slurm_drained: boolean;
  tags: Record<string, string | undefined>;
  inventory: {
    cpus: number;
    memoryMb: number;
    gpus: Array<{ model: string; count: number }>;
    features: string[];
    performance: string;
  };
}

export interface FormationSample {
  from_name: string;
  to_name: string;
  rtt_ms: number | null;
  loss: number;
  measured_at: Date;
}
