import { api, ApiError, request, problemOf } from './api.js';
import { badge, el, errorText, facts, show, table, when } from './dom.js';
import { TERMINAL_STATES } from './job-states.js';
import { repeat } from './view.js';

/** The last 64 KiB of a stream: enough to follow a job without reading a large file again and again. */
const OUTPUT_TAIL = 'bytes=-65536';

/** Your jobs, newest first, refreshed every few seconds. */
export function showJobs(container: Element): void {
  const body = el('div', { id: 'jobs-table' }, 'Loading…');
  const load = async () => {
    try {
      const page = await api<{ items: any[] }>('GET', '/v1/jobs?limit=100');
      const rows = page.items.map((job) => [
        el('a', { href: `#jobs/${job.id}` }, job.id),
        job.name,
        badge(job.state),
        job.island ?? '',
        job.partition ?? '',
        when(job.submittedAt),
      ]);
      show(body, rows.length ? table(['Id', 'Name', 'State', 'Island', 'Partition', 'Submitted'], rows, { class: 'jobs' }) : el('p', {}, 'No jobs yet.'));
    } catch (error) {
      show(body, el('p', { class: 'error' }, errorText(error)));
    }
  };
  show(container, el('h2', {}, 'Jobs'), el('p', {}, el('a', { href: '#submit' }, 'Submit a job')), body);
  void load();
  repeat(load, 3000);
}

function placementView(placement: any): Node {
  const candidates = (placement.candidates ?? []).map((c: any) => [
    c.island,
    c.score === null || c.score === undefined ? '' : Number(c.score).toFixed(2),
    c.partition ?? '',
    c.rejected
      ? `not possible: ${c.rejected}`
      : c.breakdown
        ? `fits now: ${c.breakdown.fitsNow ? 'yes' : 'no'}, expected start ${c.breakdown.expectedStartMinutes} min`
        : '',
  ]);
  return el(
    'div',
    { id: 'placement' },
    facts([
      ['Decision', placement.status],
      ['Island', placement.island],
      ['Partition', placement.partition],
      [
        'Expected start',
        placement.expectedStartMinutes === null || placement.expectedStartMinutes === undefined ? '' : `${placement.expectedStartMinutes} min`,
      ],
      ['Why not', placement.reason],
    ]),
    table(['Island', 'Score', 'Partition', 'Why'], candidates, { class: 'candidates' }),
  );
}

/** One job: its facts, the actions its state allows, why it went where it went, and its output as it grows. */
export function showJob(container: Element, id: string): void {
  const path = `/v1/jobs/${encodeURIComponent(id)}`;
  const summary = el('div', { id: 'job-summary' }, 'Loading…');
  const actions = el('div', { class: 'actions' });
  const message = el('p', { class: 'error', id: 'job-error', role: 'alert' });
  const placement = el('div', {}, 'Not placed yet.');
  let stream: 'stdout' | 'stderr' = 'stdout';
  const output = el('pre', { id: 'job-output', class: 'output' }, '');
  const streamButtons = (['stdout', 'stderr'] as const).map((name) =>
    el('button', { type: 'button', class: 'tab', 'data-stream': name, onclick: () => ((stream = name), void refreshOutput()) }, name),
  );
  let ended = false;
  let placed = false;

  const act = (label: string, method: string, suffix: string) =>
    el(
      'button',
      {
        type: 'button',
        id: `job-${label.toLowerCase()}`,
        onclick: () => {
          message.textContent = '';
          api(method, `${path}${suffix}`).then(refresh, (error) => (message.textContent = errorText(error)));
        },
      },
      label,
    );

  async function refreshOutput(): Promise<void> {
    for (const button of streamButtons) button.classList.toggle('active', button.dataset.stream === stream);
    const answer = await request('GET', `${path}/output${stream === 'stderr' ? '?stream=stderr' : ''}`, undefined, { range: OUTPUT_TAIL });
    if (answer.status === 404) output.textContent = '(no output yet)';
    else if (!answer.ok) output.textContent = `(${(await problemOf(answer)).message})`;
    else output.textContent = await answer.text();
  }

  async function refresh(): Promise<void> {
    try {
      const job = await api<any>('GET', path);
      show(
        summary,
        el('h2', {}, `Job ${job.id}`, job.name ? ` — ${job.name}` : ''),
        facts([
          ['State', el('span', { id: 'job-state' }, badge(job.state), job.hold ? ' (held)' : '')],
          ['Reason', job.stateReason],
          ['Island', job.island],
          ['Partition', job.partition],
          ['SLURM id', job.slurmJobId],
          ['Nodes', job.nodes],
          ['Exit code', job.exitCode],
          ['Submitted', when(job.submittedAt)],
          ['Started', when(job.startedAt)],
          ['Ended', when(job.endedAt)],
        ]),
      );
      const pending = ['ACCEPTED', 'PENDING'].includes(job.state);
      const terminal = TERMINAL_STATES.includes(job.state);
      show(
        actions,
        !terminal && act('Cancel', 'DELETE', ''),
        pending && !job.hold && act('Hold', 'POST', '/hold'),
        job.hold && !terminal && act('Release', 'POST', '/release'),
      );
      if (!placed && job.island !== null) placed = await refreshPlacement();
      if (!placed && job.state === 'REJECTED') placed = await refreshPlacement();
      if (!ended) await refreshOutput();
      // One more read after the end: the last lines are written as the job finishes.
      ended = terminal;
    } catch (error) {
      message.textContent = errorText(error);
    }
  }

  async function refreshPlacement(): Promise<boolean> {
    try {
      show(placement, placementView(await api('GET', `${path}/placement`)));
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return false;
      show(placement, el('p', { class: 'error' }, errorText(error)));
      return true;
    }
  }

  show(
    container,
    el('p', {}, el('a', { href: '#jobs' }, '← all jobs')),
    summary,
    actions,
    message,
    el('h3', {}, 'Placement'),
    placement,
    el('h3', {}, 'Output'),
    el('div', { class: 'tabs' }, ...streamButtons),
    output,
  );
  void refresh();
  // An ended job changes no more: the page stops asking once it has read the last output.
  repeat(() => (ended ? undefined : refresh()), 2000);
}
