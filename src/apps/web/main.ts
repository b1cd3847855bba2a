import { showNodes, showQueues, showUsage } from './admin.js';
import { api, session } from './api.js';
import { el, errorText, show } from './dom.js';
import { showIslands } from './islands.js';
import { showJob, showJobs } from './jobs.js';
import { showSignIn } from './sign-in.js';
import { showSubmit } from './submit.js';
import { leaveView, Me, seesNodes } from './view.js';

/**
 * The web view's entry: the hash names the view (#jobs, #jobs/<id>, #submit, #islands, #nodes,
 * #queues, #usage), so the back button and a reload keep one's place.
 */
const view = document.getElementById('view')!;
const nav = document.getElementById('nav')!;
const who = document.getElementById('who')!;
let me: Me | null = null;

/** The views this credential's scopes can use (a provider admin's `provider` key reads no jobs). */
function tabs(current: Me): Array<[string, string]> {
  const has = (scope: string) => current.scopes.includes(scope);
  const all: Array<[string, string, boolean]> = [
    ['jobs', 'Jobs', has('read')],
    ['submit', 'Submit', has('submit')],
    ['islands', 'Islands', has('read')],
    ['nodes', 'Nodes', seesNodes(current)],
    ['queues', 'Queues', has('read')],
    ['usage', 'Usage', true],
  ];
  return all.filter(([, , allowed]) => allowed).map(([tab, label]) => [tab, label]);
}

function signOut(): void {
  const token = session.token();
  // A wallet session is ended on the server too; an API key stays valid (it is not the page's to revoke).
  if (token?.startsWith('st_')) void api('POST', '/v1/auth/logout').catch(() => undefined);
  session.clear();
  me = null;
  location.hash = '';
  void route();
}

async function route(): Promise<void> {
  leaveView();
  if (!session.token()) {
    nav.hidden = true;
    who.replaceChildren();
    showSignIn(view, () => {
      me = null;
      if (!location.hash || location.hash === '#') location.hash = '#jobs';
      void route();
    });
    return;
  }
  try {
    me ??= await api<Me>('GET', '/v1/auth/me');
  } catch (error) {
    session.clear();
    show(view, el('p', { class: 'error' }, errorText(error)));
    return void route();
  }
  const [name, id] = location.hash.replace(/^#/, '').split('/');
  const allowed = tabs(me);
  const current = allowed.some(([tab]) => tab === name) ? name : allowed[0][0];
  show(nav, ...allowed.map(([tab, label]) => el('a', { href: `#${tab}`, class: tab === current ? 'current' : '' }, label)));
  nav.hidden = false;
  show(who, `${me.name} (${me.kind})`, ' ', el('button', { type: 'button', id: 'sign-out', onclick: signOut }, 'Sign out'));
  if (current === 'submit') return showSubmit(view);
  if (current === 'islands') return showIslands(view, me);
  if (current === 'nodes') return showNodes(view);
  if (current === 'queues') return showQueues(view);
  if (current === 'usage') return showUsage(view, me);
  if (id) return showJob(view, decodeURIComponent(id));
  return showJobs(view);
}

window.addEventListener('hashchange', () => void route());
void route();
