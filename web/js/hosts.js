// Hosts: every agent of the tenant, filtered in the browser (search, status, tag, version),
// refreshed every few seconds so online/offline stays live, with a multi-select that the Run
// view targets.
import { api } from './api.js';
import { $, ago, clear, el, when } from './dom.js';

const REFRESH_MS = 5000;

function tagText(tags) {
  return Object.entries(tags || {}).map(([k, v]) => `${k}=${v}`);
}

function ipsOf(agent) {
  const ips = Array.isArray(agent.ips) ? agent.ips.map(String) : [];
  if (agent.primary_ip && !ips.includes(agent.primary_ip)) ips.unshift(String(agent.primary_ip));
  return ips;
}

function matches(agent, filter) {
  if (filter.status && agent.status !== filter.status) return false;
  if (filter.tag) {
    const eq = filter.tag.indexOf('=');
    const key = eq < 0 ? filter.tag : filter.tag.slice(0, eq);
    const tags = agent.tags || {};
    if (!Object.prototype.hasOwnProperty.call(tags, key)) return false;
    if (eq >= 0 && String(tags[key]) !== filter.tag.slice(eq + 1)) return false;
  }
  if (filter.version) {
    const v = String(agent.version || '');
    const ok = filter.version.endsWith('*') ? v.startsWith(filter.version.slice(0, -1))
                                            : v === filter.version;
    if (!ok) return false;
  }
  if (filter.search) {
    const hay = [agent.name, agent.hostname, agent.agent_id, agent.version, agent.os, agent.arch,
                 ...ipsOf(agent), ...tagText(agent.tags)].join(' ').toLowerCase();
    for (const word of filter.search.toLowerCase().split(/\s+/).filter(Boolean)) {
      if (!hay.includes(word)) return false;
    }
  }
  return true;
}

export function createHosts(ctx) {
  const { state } = ctx;
  let timer = null;
  let shown = [];

  const filter = () => ({
    search: $('hosts-search').value.trim(),
    status: $('hosts-status').value,
    tag: $('hosts-tag').value.trim(),
    version: $('hosts-version').value.trim(),
  });

  function row(agent) {
    const id = String(agent.agent_id);
    const checked = state.selected.has(id);
    const box = el('input', { type: 'checkbox', checked, 'aria-label': `Select ${agent.name}`,
                              'data-agent': id });
    box.addEventListener('change', () => {
      if (box.checked) state.selected.set(id, String(agent.name));
      else state.selected.delete(id);
      ctx.selectionChanged();
      syncAll();
    });
    const online = agent.status === 'online';
    const version = el('td', {}, String(agent.version || ''));
    if (agent.update_state) version.append(el('div', { class: 'muted small' }, String(agent.update_state)));
    return el('tr', { class: checked ? 'selected' : null, 'data-name': String(agent.name) },
      el('td', {}, box),
      el('td', { class: 'name' }, String(agent.name),
        agent.hostname && agent.hostname !== agent.name ? el('div', { class: 'muted small' }, String(agent.hostname)) : null),
      el('td', {}, el('span', { class: `dot ${online ? 'online' : 'offline'}`, 'aria-hidden': 'true' }),
        el('span', { class: 'status-text' }, online ? 'online' : 'offline')),
      version,
      el('td', {}, ipsOf(agent).join(', ')),
      el('td', {}, tagText(agent.tags).map((t) => el('span', { class: 'tag' }, t))),
      el('td', { title: when(agent.last_seen) }, ago(agent.last_seen)),
      el('td', { class: 'num' }, String(agent.running_tasks ?? '')));
  }

  function syncAll() {
    const all = $('hosts-all');
    const n = shown.filter((a) => state.selected.has(String(a.agent_id))).length;
    all.checked = shown.length > 0 && n === shown.length;
    all.indeterminate = n > 0 && n < shown.length;
    $('hosts-run').disabled = state.selected.size === 0;
  }

  function render() {
    const f = filter();
    shown = state.agents.filter((a) => matches(a, f));
    // Keep keyboard focus on the same checkbox across a live refresh.
    const focused = document.activeElement && document.activeElement.dataset
      ? document.activeElement.dataset.agent : undefined;
    const body = clear($('hosts-body'), shown.map(row));
    if (!shown.length) {
      body.append(el('tr', {}, el('td', { colspan: 8, class: 'muted' },
        state.agents.length ? 'No host matches these filters.' : 'No agents registered yet.')));
    }
    if (focused) {
      for (const box of body.querySelectorAll('input[data-agent]')) {
        if (box.dataset.agent === focused) box.focus();
      }
    }
    const online = state.agents.filter((a) => a.status === 'online').length;
    $('hosts-count').textContent =
      `${shown.length} shown of ${state.agents.length} (${online} online), ${state.selected.size} selected`;
    syncAll();
  }

  async function refresh() {
    try {
      const res = await api('GET', '/v1/agents');
      state.agents = Array.isArray(res.agents) ? res.agents : [];
      // Selected names follow renames; removed agents leave the selection.
      const byId = new Map(state.agents.map((a) => [String(a.agent_id), String(a.name)]));
      for (const id of [...state.selected.keys()]) {
        if (byId.has(id)) state.selected.set(id, byId.get(id));
        else state.selected.delete(id);
      }
      render();
      ctx.selectionChanged();
      ctx.clearError();
    } catch (e) {
      ctx.showError(e);
    }
  }

  for (const id of ['hosts-search', 'hosts-tag', 'hosts-version']) $(id).addEventListener('input', render);
  $('hosts-status').addEventListener('change', render);
  $('hosts-refresh').addEventListener('click', refresh);
  $('hosts-all').addEventListener('change', () => {
    const on = $('hosts-all').checked;
    for (const a of shown) {
      if (on) state.selected.set(String(a.agent_id), String(a.name));
      else state.selected.delete(String(a.agent_id));
    }
    render();
    ctx.selectionChanged();
  });
  $('hosts-run').addEventListener('click', () => {
    document.querySelector('input[name="target"][value="selected"]').checked = true;
    ctx.go('run');
  });

  return {
    start() {
      refresh();
      if (!timer) timer = setInterval(refresh, REFRESH_MS);
    },
    stop() {
      clearInterval(timer);
      timer = null;
    },
    refresh,
  };
}
