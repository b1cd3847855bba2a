/** The islands the topology loop formed and launched, as the chain's provider daemon registers them (the islands feature answers). */
export interface FormedIslands {
  /** ACTIVE formed islands with their partitions, by name. */
  activeIslands(): Promise<Array<{ name: string; partitions: string[] }>>;
}

export const FORMED_ISLANDS = Symbol('FORMED_ISLANDS');
