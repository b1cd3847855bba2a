import { faultSuite } from './fault-scenarios';
import { rootFor2411 } from '../support/slurm-releases';

faultSuite('24.11', 'fault-c', { ISLAND_ROOT: rootFor2411() });
