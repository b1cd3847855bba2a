import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LOGIN_ENVIRONMENT, sbatchDerivedEnvironment, sbatchOptionVariables } from '../../src/core/sbatch/job-environment';
import { environmentVariableRefusal } from '../../src/core/sbatch/environment-policy';

const origin = { submitDir: '/home/alice/run', submitHost: 'login1' };

describe('what sbatch adds to a job environment', () => {
  test('with no options: the login environment request, the priority and where it was submitted from', () => {
    assert.deepEqual(sbatchDerivedEnvironment({}, origin), {
      SLURM_GET_USER_ENV: '1',
      SLURM_PRIO_PROCESS: '0',
      SLURM_SUBMIT_DIR: '/home/alice/run',
      SLURM_SUBMIT_HOST: 'login1',
    });
  });
  test('options become the variables sbatch sets for them', () => {
    assert.deepEqual(
      sbatchOptionVariables({
        cpusPerTask: 4,
        ntasksPerNode: 2,
        threadsPerCore: 1,
        openMode: 'truncate',
        dependency: {
          combine: 'any',
          clauses: [
            { kind: 'afterok', targets: [{ jobId: '12' }] },
            { kind: 'afternotok', targets: [{ jobId: '13' }] },
          ],
        },
      }),
      {
        SLURM_CPUS_PER_TASK: '4',
        SLURM_NTASKS_PER_NODE: '2',
        SLURM_THREADS_PER_CORE: '1',
        SLURM_OPEN_MODE: 't',
        SLURM_JOB_DEPENDENCY: 'afterok:12?afternotok:13',
        SLURM_PRIO_PROCESS: '0',
      },
    );
    assert.equal(sbatchOptionVariables({ openMode: 'append' }).SLURM_OPEN_MODE, 'a');
  });
  test('a dependency not yet translated to SLURM ids is never rendered', () => {
    assert.throws(
      () => sbatchOptionVariables({ dependency: { combine: 'all', clauses: [{ kind: 'afterok', targets: [{ jobId: 'x1' }] }] } }),
      /not a SLURM job id/,
    );
  });
  test('derived variables are ones a caller may not set itself', () => {
    const all = sbatchDerivedEnvironment({ cpusPerTask: 2, ntasksPerNode: 1, threadsPerCore: 1, openMode: 'append' }, origin);
    for (const name of Object.keys(all)) assert.notEqual(environmentVariableRefusal(name), null, name);
    assert.deepEqual(LOGIN_ENVIRONMENT, { SLURM_GET_USER_ENV: '1' });
  });
});
