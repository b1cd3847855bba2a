export interface NodeFacts {
  name: string;
  provider_id: string;
  benchmark_score: number;
  gpu_model: string | null;
}

/** What usage accounting needs of the nodes a job ran on (the nodes feature answers). */
export interface NodeFactsSource {
  nodeFacts(names: string[]): Promise<NodeFacts[]>;
}

export const NODE_FACTS = Symbol('NODE_FACTS');
