import { jobFlowSuite } from './job-flows';

jobFlowSuite('ssh', 'local-b', 2);
