import { api, ApiError } from './api.js';
import { el, errorText, show } from './dom.js';

/** The sbatch options the form asks for (long names, as `options` in POST /v1/jobs takes them). */
const FIELDS: Array<[name: string, label: string, hint: string]> = [
  ['job-name', 'Job name', 'default: the script’s file name'],
  ['partition', 'Partition', 'default: the island’s'],
  ['time', 'Time limit', 'e.g. 10:00'],
  ['nodes', 'Nodes', 'e.g. 2'],
  ['ntasks', 'Tasks', 'e.g. 4'],
  ['cpus-per-task', 'CPUs per task', 'e.g. 2'],
  ['mem', 'Memory per node', 'e.g. 512M'],
  ['array', 'Array', 'e.g. 0-9%2'],
  ['output', 'Output file', 'e.g. run-%j.out'],
  ['dependency', 'Dependency', 'e.g. afterok:42'],
];

const EXAMPLE = '#!/bin/bash\n#SBATCH --time=5:00\nhostname\n';

/** `name=value` lines (a bare name is a flag) for any other sbatch option. */
function extraOptions(text: string): Record<string, string | boolean> {
  const options: Record<string, string | boolean> = {};
  for (const line of text.split('\n').map((l) => l.trim().replace(/^--/, ''))) {
    if (!line) continue;
    const at = line.indexOf('=');
    if (at < 0) options[line] = true;
    else options[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return options;
}

function newIdempotencyKey(): string {
  return typeof crypto.randomUUID === 'function' ? crypto.randomUUID() : `ui-${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

/** A script pasted or uploaded, with the options form; on success the job's page opens. */
export function showSubmit(container: Element): void {
  const script = el('textarea', { id: 'script', rows: 12, spellcheck: false, required: true });
  script.value = EXAMPLE;
  let scriptName: string | undefined;
  const upload = el('input', {
    id: 'script-file',
    type: 'file',
    onchange: async () => {
      const file = upload.files?.[0];
      if (!file) return;
      script.value = await file.text();
      scriptName = file.name;
    },
  });
  const inputs = new Map(FIELDS.map(([name, , hint]) => [name, el('input', { id: `opt-${name}`, name, placeholder: hint })]));
  const hold = el('input', { id: 'opt-hold', type: 'checkbox' });
  const extra = el('textarea', { id: 'opt-extra', rows: 3, placeholder: 'other sbatch options, one per line: mail-type=END' });
  const message = el('p', { class: 'error', id: 'submit-error', role: 'alert' });
  // One key per form shown: a double click or a retried request gets the same job back.
  let idempotencyKey = newIdempotencyKey();

  const submit = async () => {
    message.textContent = '';
    for (const input of inputs.values()) input.classList.remove('invalid');
    const options: Record<string, string | boolean> = extraOptions(extra.value);
    for (const [name, input] of inputs) if (input.value.trim()) options[name] = input.value.trim();
    if (hold.checked) options.hold = true;
    const body = { script: script.value, ...(scriptName ? { scriptName } : {}), options };
    try {
      const job = await api<{ id: string }>('POST', '/v1/jobs', body, { 'idempotency-key': idempotencyKey });
      idempotencyKey = newIdempotencyKey();
      location.hash = `#jobs/${job.id}`;
    } catch (error) {
      const field = error instanceof ApiError ? error.problem.field : undefined;
      inputs.get(field?.replace(/^options\./, '') ?? '')?.classList.add('invalid');
      message.textContent = errorText(error);
      // A refused body may be fixed and sent again: that is a different request.
      idempotencyKey = newIdempotencyKey();
    }
  };

  show(
    container,
    el('h2', {}, 'Submit a job'),
    el(
      'form',
      {
        id: 'submit-form',
        onsubmit: (event) => {
          event.preventDefault();
          void submit();
        },
      },
      el('label', { for: 'script' }, 'Batch script (paste, or upload a file)'),
      script,
      upload,
      el(
        'fieldset',
        {},
        el('legend', {}, 'Options'),
        ...FIELDS.map(([name, label]) => el('label', {}, label, inputs.get(name)!)),
        el('label', { class: 'check' }, hold, 'Hold (start only when released)'),
      ),
      el('label', { for: 'opt-extra' }, 'More options'),
      extra,
      el('button', { type: 'submit', id: 'submit-job' }, 'Submit'),
    ),
    message,
  );
}
