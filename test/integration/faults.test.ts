import { faultSuite } from './fault-scenarios';

faultSuite('22.05', 'fault-a');
