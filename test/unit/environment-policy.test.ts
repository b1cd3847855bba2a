import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { environmentVariableRefusal, SBATCH_OPTION_VARIABLES, storedEnvironmentRefusal } from '../../src/core/sbatch/environment-policy';
import { lookupLong } from '../../src/core/sbatch/sbatch-options';
import { fuzzEnvironmentPolicy, smugglingViolation } from '../support/hostile-environment';

describe('environment policy', () => {
  it('names the option behind each sbatch input variable, and says whether it is refused', () => {
    assert.match(environmentVariableRefusal('SBATCH_TIMELIMIT')!, /--time; pass --time as an option instead/);
    assert.match(environmentVariableRefusal('SBATCH_GET_USER_ENV')!, /--get-user-env, which is refused/);
    assert.match(environmentVariableRefusal('SBATCH_EXPORT')!, /--export; pass --export/);
    assert.match(environmentVariableRefusal('SBATCH_TRES_PER_TASK')!, /--tres-per-task, which Archipelago does not accept/);
    assert.match(environmentVariableRefusal('SLURM_HINT')!, /--hint/);
  });
  it('maps every listed variable to an option sbatch 22.05 knows, or to one a later release added', () => {
    const later = new Set(['consolidate-segments', 'container-id', 'runtime', 'segment', 'spread-segments', 'tres-bind', 'tres-per-task']);
    for (const [name, option] of Object.entries(SBATCH_OPTION_VARIABLES)) {
      assert.ok(lookupLong(option).kind === 'found' || later.has(option), `${name} → --${option}`);
      assert.match(name, /^(SBATCH|SLURM)_/);
    }
  });
  it('refuses a variable a future sbatch may read (prefix rule), and SLURM settings read by libslurm', () => {
    for (const name of ['SBATCH_SOMETHING_NEW_IN_27', 'SALLOC_ACCOUNT', 'SLURM_CONF_SERVER', 'SLURM_JWT', 'SLURMD_NODENAME']) {
      assert.ok(environmentVariableRefusal(name), name);
    }
  });
  it('leaves ordinary variables alone', () => {
    for (const name of ['PATH', 'HOME', 'OMP_NUM_THREADS', 'SBATCH', 'SLURM', 'LD', 'LDFLAGS', 'MY_SLURM_X']) {
      assert.equal(environmentVariableRefusal(name), null, name);
    }
  });
  it('a stored environment may carry SLURM_EXPORT_ENV (Archipelago sets it) and nothing else of SLURM', () => {
    assert.equal(storedEnvironmentRefusal({ PATH: '/bin', SLURM_EXPORT_ENV: 'NONE' }), null);
    assert.match(storedEnvironmentRefusal({ PATH: '/bin', SBATCH_CLUSTERS: 'x' })!, /--clusters/);
  });
});

describe('environment smuggling (seeded property run)', () => {
  it('3000 generated submissions, every channel: each is refused with a 400 naming the smuggled variable', () => {
    const report = fuzzEnvironmentPolicy({ runs: 3000, seed: 1313 });
    assert.equal(report.cases, 3000);
    assert.deepEqual(report.violations, []);
  });
  it('the oracle flags an acceptance and a refusal on another field', () => {
    assert.match(smugglingViolation('LD_PRELOAD', 202, undefined)!, /202/);
    assert.match(smugglingViolation('LD_PRELOAD', 400, 'script')!, /not environment\.LD_PRELOAD/);
    assert.equal(smugglingViolation('LD_PRELOAD', 400, 'environment.LD_PRELOAD'), null);
  });
});
