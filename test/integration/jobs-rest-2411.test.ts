import { jobFlowSuite } from './job-flows';

jobFlowSuite('rest', 'local-c', 3);
