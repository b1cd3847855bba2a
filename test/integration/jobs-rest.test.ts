import { jobFlowSuite } from './job-flows';

jobFlowSuite('rest', 'local-a', 1);
