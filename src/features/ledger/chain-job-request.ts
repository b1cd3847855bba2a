import { invalid } from '../../core/common/problem';
import type { HPCJob } from '../../adapters/chain/generated/virtengine';
import type { SubmitInput } from '../../core/jobs/job-request';
import type { IngressSettings } from '../../adapters/config/ledger-settings';

const QUEUE = /^[A-Za-z0-9_.-]{1,64}$/;
const GPU_TYPE = /^[A-Za-z0-9_.-]{1,32}$/;
/** A directive value SLURM's getopt reads as one word: no blanks, quotes or backslashes. */
const PLAIN_WORD = /^[^\s'"\\]{1,4096}$/;

const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/**
 * A chain job (workload spec, resources, queue, runtime) as the sbatch submission a REST caller
 * would send, mapped the way the reference daemon's MapToSLURM does: queue → --partition,
 * cpu_cores_per_node → --cpus-per-task, memory GB → --mem, max runtime → --time in minutes
 * (rounded up), GPUs → --gres, and VIRTENGINE_{JOB,CLUSTER,OFFERING}_ID in the environment. The
 * command is shell text (as in the reference's script); arguments are quoted one by one. The
 * island is pinned, so placement can only choose it. Anything that cannot be said safely as a
 * directive is a 400 problem, which the caller records as the refusal.
 */
export function chainJobSubmission(job: HPCJob, island: string, runtime: IngressSettings['containerRuntime']): SubmitInput & { script: string } {
  const spec = job.workloadSpec;
  const resources = job.resources;
  if (!spec?.command) throw invalid('workload_spec.command', 'the chain job has no command');
  if (!QUEUE.test(job.queueName)) throw invalid('queue_name', 'letters, digits, _ . - (1-64)');
  if (!resources || resources.nodes < 1) throw invalid('resources.nodes', 'at least 1');
  if (job.maxRuntimeSeconds < 60n) throw invalid('max_runtime_seconds', 'at least 60');
  if (spec.isPreconfigured) throw invalid('workload_spec.is_preconfigured', 'preconfigured workloads are not offered by this provider');
  const directives = [
    `--job-name=ve-${job.jobId}`,
    `--partition=${job.queueName}`,
    `--nodes=${resources.nodes}`,
    `--time=${(job.maxRuntimeSeconds + 59n) / 60n}`,
  ];
  if (resources.cpuCoresPerNode > 0) directives.push(`--cpus-per-task=${resources.cpuCoresPerNode}`);
  if (resources.memoryGbPerNode > 0) directives.push(`--mem=${resources.memoryGbPerNode}G`);
  if (resources.gpusPerNode > 0) {
    if (resources.gpuType && !GPU_TYPE.test(resources.gpuType)) throw invalid('resources.gpu_type', 'letters, digits, _ . - (1-32)');
    directives.push(`--gres=gpu:${resources.gpuType ? `${resources.gpuType}:` : ''}${resources.gpusPerNode}`);
  }
  if (spec.workingDirectory) {
    if (!PLAIN_WORD.test(spec.workingDirectory)) throw invalid('workload_spec.working_directory', 'no blanks, quotes or backslashes');
    directives.push(`--chdir=${spec.workingDirectory}`);
  }
  const command = [spec.command, ...spec.arguments.map(quote)].join(' ');
  if (/[\0\r\n]/.test(command)) throw invalid('workload_spec.command', 'one line: no NUL, CR or LF');
  const image = spec.containerImage;
  const main = image && runtime !== 'host' ? `${runtime} exec ${quote(image)} /bin/sh -c ${quote(command)}` : command;
  const environment: Record<string, string> = {};
  for (const { key, value } of spec.environment) environment[key] = value;
  Object.assign(environment, {
    VIRTENGINE_JOB_ID: job.jobId,
    VIRTENGINE_CLUSTER_ID: job.clusterId,
    VIRTENGINE_OFFERING_ID: job.offeringId,
    ...(image ? { VIRTENGINE_CONTAINER_IMAGE: image } : {}),
  });
  return {
    script: ['#!/bin/bash', ...directives.map((d) => `#SBATCH ${d}`), main, ''].join('\n'),
    environment,
    placement: { islands: [island] },
  };
}
