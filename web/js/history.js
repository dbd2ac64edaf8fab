// History: the tenant's invocations, newest first (who, when, what, result counts); one opened
// shows its settings and every task's complete output (followed live while it runs), and can be
// run again with the same settings.
import { api, q } from './api.js';
import { $, ago, clear, el, statusBadge, when } from './dom.js';
import { watchInvocation } from './panes.js';

function countsText(counts) {
  return Object.entries(counts || {}).map(([k, v]) => `${v} ${k}`).join(', ');
}

function firstLine(text, max = 80) {
  const line = String(text || '').split('\n')[0];
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

export function createHistory(ctx) {
  let stopWatching = null;

  async function open(id) {
    if (stopWatching) stopWatching();
    const box = $('history-detail');
    try {
      const inv = await api('GET', `/v1/invocations/${q(id)}`);
      const rerun = el('button', { type: 'button', id: 'history-rerun' }, 'Re-run with these settings');
      rerun.addEventListener('click', () => ctx.rerun(inv));
      const panes = el('div');
      clear(box,
        el('h2', {}, 'Invocation ', el('code', {}, String(inv.invocation_id))),
        el('dl', { class: 'facts' },
          el('dt', {}, 'Created'), el('dd', {}, `${when(inv.created_at)} by ${inv.created_by}`),
          el('dt', {}, 'Saved command'), el('dd', {}, inv.command_name ? String(inv.command_name) : '—'),
          el('dt', {}, 'Interpreter'), el('dd', {}, String(inv.interpreter)),
          el('dt', {}, 'User'), el('dd', {}, String(inv.user || 'root')),
          el('dt', {}, 'Working directory'), el('dd', {}, inv.workdir ? String(inv.workdir) : "user's home"),
          el('dt', {}, 'Timeout'), el('dd', {}, `${inv.timeout_s} s`),
          el('dt', {}, 'Results'), el('dd', {}, countsText(inv.counts))),
        el('pre', { class: 'command' }, String(inv.command)),
        el('div', { class: 'row' }, rerun),
        panes);
      stopWatching = watchInvocation(inv, panes, ctx);
      box.scrollIntoView({ block: 'start' });
    } catch (e) {
      ctx.showError(e);
    }
  }

  async function refresh() {
    try {
      const filter = $('history-filter').value.trim();
      const res = await api('GET', `/v1/invocations?limit=100${filter ? `&command=${q(filter)}` : ''}`);
      const list = Array.isArray(res.invocations) ? res.invocations : [];
      clear($('history-body'), list.map((inv) => {
        const btn = el('button', { type: 'button', class: 'link' }, 'Open');
        btn.addEventListener('click', () => open(inv.invocation_id));
        return el('tr', { 'data-invocation': String(inv.invocation_id) },
          el('td', { title: when(inv.created_at) }, ago(inv.created_at)),
          el('td', {}, String(inv.created_by || '')),
          el('td', {}, inv.command_name ? el('span', { class: 'tag' }, String(inv.command_name)) : null,
            el('code', {}, firstLine(inv.command))),
          el('td', {}, statusBadge(inv.status)),
          el('td', {}, countsText(inv.counts)),
          el('td', {}, btn));
      }));
      if (!list.length) $('history-body').append(el('tr', {}, el('td', { colspan: 6, class: 'muted' }, 'Nothing has run yet.')));
      ctx.clearError();
    } catch (e) {
      ctx.showError(e);
    }
  }

  $('history-refresh').addEventListener('click', refresh);
  $('history-filter').addEventListener('change', refresh);
  return { refresh, open };
}
