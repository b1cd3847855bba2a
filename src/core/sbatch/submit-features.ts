import type { JobSpec } from './job-spec';

/**
 * What a job asks for that not every way of submitting to SLURM can send (measured on the local
 * islands): slurmrestd 22.05 (v0.0.38) cannot parse the `B:` flag of `--signal` nor
 * `--mem-per-gpu`; slurmrestd 23.11+ (v0.0.40-42) has no field for `--signal` flags (`B:`, `R:`)
 * and takes `--begin` only as `now+N`; sbatch over SSH sends all of them. Placement keeps such a
 * job off islands that cannot send it; the REST adapters refuse it with the reason.
 */
export type SubmitFeature = 'batch-signal' | 'signal-flags' | 'mem-per-gpu' | 'begin-clock-time';

/** The option each feature comes from, for reasons. */
export const SUBMIT_FEATURE_OPTION: Record<SubmitFeature, string> = {
  'batch-signal': '--signal=B:',
  'signal-flags': '--signal with B: or R:',
  'mem-per-gpu': '--mem-per-gpu',
  'begin-clock-time': '--begin at a clock time',
};

const SIGNAL_FLAGS = /^([BR]{1,2}):/i;
/** The only `--begin` form slurmrestd 23.11+ takes: it cannot know the cluster's time zone. */
export const RELATIVE_BEGIN = /^now(?:\+(\d{1,9})(second|minute|hour|day|week)?s?)?$/i;

export function submitFeaturesOf(spec: Pick<JobSpec, 'signal' | 'memPerGpuMb' | 'begin'>): SubmitFeature[] {
  const features: SubmitFeature[] = [];
  const flags = spec.signal === undefined ? null : SIGNAL_FLAGS.exec(spec.signal);
  if (flags) {
    if (/B/i.test(flags[1])) features.push('batch-signal');
    features.push('signal-flags');
  }
  if (spec.memPerGpuMb !== undefined) features.push('mem-per-gpu');
  if (spec.begin !== undefined && !RELATIVE_BEGIN.test(spec.begin)) features.push('begin-clock-time');
  return features;
}
