import { faultSuite } from './fault-scenarios';
import { rootFor2411 } from '../support/slurm-releases';

// The scenarios that break SLURM itself; those whose fault is ours run once, on 22.05 (faults.test.ts).
faultSuite('24.11', 'fault-c', { ISLAND_ROOT: rootFor2411() }, 'slurm faults');
