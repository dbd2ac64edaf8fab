// Saved commands (issue 7): the list, one command's text and parameters, and a form that invokes
// it with parameter values on chosen hosts. Values are substituted by the server (quoted for the
// interpreter); patterns are POSIX regular expressions the server checks, shown here as hints.
import { api, q } from './api.js';
import { $, clear, el } from './dom.js';
import { watchInvocation } from './panes.js';
import { parseTag } from './run.js';

export function createCommands(ctx) {
  const { state } = ctx;
  let stopWatching = null;

  function detail(cmd) {
    if (stopWatching) stopWatching();
    stopWatching = null;
    const params = Object.entries(cmd.parameters || {});
    const inputs = new Map();
    const fields = params.map(([name, p], i) => {
      const id = `param-${i}`;
      const input = el('input', { id, type: 'text', spellcheck: 'false', 'data-param': name,
                                  required: p.default === undefined || p.default === null });
      if (p.default !== undefined && p.default !== null) input.value = String(p.default);
      inputs.set(name, input);
      const hints = [];
      if (p.description) hints.push(String(p.description));
      if (p.pattern) hints.push(`must match ${p.pattern}`);
      if (p.default === undefined || p.default === null) hints.push('required');
      return el('div', { class: 'param' }, el('label', { for: id }, name), input,
        hints.length ? el('div', { class: 'muted small' }, hints.join(' · ')) : null);
    });
    const mode = el('select', { id: 'invoke-target', 'aria-label': 'Hosts' },
      el('option', { value: 'selected' }, 'Selected hosts'), el('option', { value: 'tag' }, 'Hosts with tag'),
      el('option', { value: 'all' }, 'All hosts'));
    const tag = el('input', { id: 'invoke-tag', type: 'text', placeholder: 'key=value', 'aria-label': 'Tag (key=value)' });
    const error = el('p', { class: 'error', role: 'alert' });
    const submit = el('button', { type: 'submit', id: 'invoke-submit' }, 'Invoke');
    const result = el('div', { id: 'invoke-result' });
    const form = el('form', { class: 'card' },
      el('h3', {}, 'Invoke'),
      fields.length ? fields : el('p', { class: 'muted' }, 'No parameters.'),
      el('div', { class: 'row' }, el('label', { for: 'invoke-target' }, 'Hosts'), mode, tag),
      el('div', { class: 'row' }, submit, error));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      error.textContent = '';
      let targets;
      if (mode.value === 'all') targets = { all: true };
      else if (mode.value === 'tag') {
        const tags = parseTag(tag.value);
        if (!tags) { error.textContent = 'Enter the tag as key=value.'; return; }
        targets = { tags };
      } else {
        if (!state.selected.size) { error.textContent = 'No host is selected under Hosts.'; return; }
        targets = { agents: [...state.selected.keys()] };
      }
      const values = {};
      for (const [name, input] of inputs) {
        if (input.value !== '' || input.required) values[name] = input.value;
      }
      submit.disabled = true;
      try {
        const inv = await api('POST', `/v1/commands/${q(cmd.name)}/invoke`, { params: values, targets });
        if (stopWatching) stopWatching();
        stopWatching = watchInvocation(inv, result, ctx);
      } catch (e) {
        error.textContent = e.message;
      } finally {
        submit.disabled = false;
      }
    });
    clear($('command-detail'),
      el('h2', {}, String(cmd.name)),
      cmd.description ? el('p', {}, String(cmd.description)) : null,
      el('p', { class: 'muted' }, `${cmd.interpreter}, as ${cmd.user || 'root'}, timeout ${cmd.timeout_s} s`,
        cmd.workdir ? `, in ${cmd.workdir}` : ''),
      el('pre', { class: 'command' }, String(cmd.command)),
      form, result);
  }

  async function refresh() {
    try {
      const res = await api('GET', '/v1/commands');
      const list = Array.isArray(res.commands) ? res.commands : [];
      clear($('commands-list'), list.map((cmd) => {
        const b = el('button', { type: 'button', class: 'link' }, String(cmd.name));
        b.addEventListener('click', () => detail(cmd));
        return el('li', {}, b, cmd.description ? el('div', { class: 'muted small' }, String(cmd.description)) : null);
      }));
      if (!list.length) $('commands-list').append(el('li', { class: 'muted' }, 'No saved commands (tether commands save).'));
      ctx.clearError();
    } catch (e) {
      clear($('commands-list'), el('li', { class: 'error' }, e.message));
    }
  }

  $('commands-refresh').addEventListener('click', refresh);
  return { refresh };
}
