// The Tether web console (docs/console.md): sign-in, the four views and what they share (the
// host selection, the error banner). Loaded as a module by index.html; no build step.
import { api, clearKey, getKey, onUnauthorized, setKey } from './api.js';
import { $ } from './dom.js';
import { createCommands } from './commands.js';
import { createHistory } from './history.js';
import { createHosts } from './hosts.js';
import { createRun } from './run.js';

const VIEWS = ['hosts', 'run', 'history', 'commands'];
const state = { agents: [], selected: new Map() }; // selected: agent_id -> name

const ctx = {
  state,
  showError(e) {
    const banner = $('global-error');
    banner.textContent = e && e.message ? e.message : String(e);
    banner.hidden = false;
  },
  clearError() {
    $('global-error').hidden = true;
  },
  go(view) {
    if (location.hash !== `#${view}`) location.hash = view;
    else show(view);
  },
  selectionChanged() { run.selectionChanged(); },
  rerun(inv) {
    run.prefill(inv);
    ctx.go('run');
  },
};

const hosts = createHosts(ctx);
const run = createRun(ctx);
const history = createHistory(ctx);
const commands = createCommands(ctx);

function show(view) {
  if (!VIEWS.includes(view)) view = 'hosts';
  for (const v of VIEWS) {
    const on = v === view;
    $(`view-${v}`).hidden = !on;
    const tab = $(`tab-${v}`);
    tab.setAttribute('aria-selected', on ? 'true' : 'false');
    tab.tabIndex = on ? 0 : -1;
  }
  if (view === 'history') history.refresh();
  if (view === 'commands') commands.refresh();
  if (view === 'run') run.selectionChanged();
}

function signOut(message) {
  clearKey();
  hosts.stop();
  state.agents = [];
  state.selected.clear();
  $('app').hidden = true;
  $('signin').hidden = false;
  $('signin-error').textContent = message || '';
  $('signin-key').value = '';
  $('signin-key').focus();
}

function signedIn() {
  $('signin').hidden = true;
  $('app').hidden = false;
  $('signin-error').textContent = '';
  hosts.start();
  show(location.hash.slice(1));
}

onUnauthorized(() => signOut('API key rejected: the server answered 401. Check the key and sign in again.'));

$('signin-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const key = $('signin-key').value.trim();
  if (!key) return;
  $('signin-submit').disabled = true;
  $('signin-error').textContent = '';
  setKey(key);
  try {
    // Any viewer route proves the key; the agents are needed first anyway.
    await api('GET', '/v1/agents');
    signedIn();
  } catch (e) {
    if (e.status !== 401) {
      clearKey();
      $('signin-error').textContent = e.message;
    }
  } finally {
    $('signin-submit').disabled = false;
  }
});

$('signout').addEventListener('click', () => signOut('Signed out.'));

// Tabs: click, or arrow keys between them (the WAI-ARIA tabs pattern).
for (const v of VIEWS) $(`tab-${v}`).addEventListener('click', () => ctx.go(v));
document.querySelector('[role="tablist"]').addEventListener('keydown', (ev) => {
  if (ev.key !== 'ArrowRight' && ev.key !== 'ArrowLeft') return;
  const current = VIEWS.findIndex((v) => $(`tab-${v}`).getAttribute('aria-selected') === 'true');
  const next = VIEWS[(current + (ev.key === 'ArrowRight' ? 1 : VIEWS.length - 1)) % VIEWS.length];
  ctx.go(next);
  $(`tab-${next}`).focus();
});
window.addEventListener('hashchange', () => { if (getKey()) show(location.hash.slice(1)); });

if (getKey()) signedIn();
else signOut('');
