// Run: choose hosts (the Hosts selection, a tag, or all), write the command, pick interpreter,
// user, working directory and timeout, run it and watch every host answer (panes.js).
import { api } from './api.js';
import { $, el } from './dom.js';
import { watchInvocation } from './panes.js';

export function parseTag(text) {
  const eq = text.indexOf('=');
  if (eq <= 0) return null;
  return { [text.slice(0, eq).trim()]: text.slice(eq + 1).trim() };
}

// The hosts part of the form as a targets object, or a message saying what is missing.
export function targetsFromForm(state) {
  const mode = document.querySelector('input[name="target"]:checked').value;
  if (mode === 'all') return { targets: { all: true } };
  if (mode === 'tag') {
    const tags = parseTag($('run-tag').value);
    return tags ? { targets: { tags } } : { error: 'Enter the tag as key=value.' };
  }
  const ids = [...state.selected.keys()];
  return ids.length ? { targets: { agents: ids } }
                    : { error: 'No host is selected: pick some under Hosts, or choose a tag or all hosts.' };
}

export function createRun(ctx) {
  const { state } = ctx;
  let stopWatching = null;

  function showSelection() {
    const names = [...state.selected.values()].sort();
    $('run-selected').textContent = names.length ? `(${names.length}: ${names.join(', ')})` : '(none selected)';
  }

  // Follows inv in the Run view's result area (a run, a re-run or a saved command's invoke).
  function show(inv) {
    if (stopWatching) stopWatching();
    stopWatching = watchInvocation(inv, $('run-result'), ctx);
  }

  $('run-tag').addEventListener('focus', () => { document.querySelector('input[name="target"][value="tag"]').checked = true; });

  $('run-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const error = $('run-error');
    error.textContent = '';
    const t = targetsFromForm(state);
    if (t.error) {
      error.textContent = t.error;
      return;
    }
    const body = {
      command: $('run-command').value,
      interpreter: $('run-interpreter').value,
      targets: t.targets,
    };
    const user = $('run-user').value.trim();
    const workdir = $('run-workdir').value.trim();
    const timeout = $('run-timeout').value.trim();
    if (user) body.user = user;
    if (workdir) body.workdir = workdir;
    if (timeout) body.timeout_s = Number(timeout);
    if (!body.command.trim()) {
      error.textContent = 'Write a command first.';
      return;
    }
    $('run-submit').disabled = true;
    try {
      show(await api('POST', '/v1/invocations', body));
    } catch (e) {
      error.textContent = e.message;
    } finally {
      $('run-submit').disabled = false;
    }
  });

  return {
    selectionChanged: showSelection,
    show,
    // Fills the form with an earlier invocation's settings (History's re-run).
    prefill(inv) {
      $('run-command').value = String(inv.command || '');
      $('run-interpreter').value = String(inv.interpreter || 'sh');
      $('run-user').value = inv.user ? String(inv.user) : '';
      $('run-workdir').value = inv.workdir ? String(inv.workdir) : '';
      $('run-timeout').value = inv.timeout_s ? String(inv.timeout_s) : '3600';
      state.selected.clear();
      for (const t of inv.tasks || []) state.selected.set(String(t.agent_id), String(t.name));
      document.querySelector('input[name="target"][value="selected"]').checked = true;
      showSelection();
      $('run-error').textContent = '';
      $('run-result').replaceChildren(el('p', { class: 'muted' },
        `The settings of ${inv.invocation_id} on the same ${state.selected.size} host(s): press Run to run it again.`));
    },
  };
}
