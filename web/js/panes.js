// One pane per task of an invocation, fed live by its event stream: status badge, exit code,
// duration, output (stderr marked), cancel, copy and download of the full stored output.
// Used by Run, by saved-command invokes and by History's detail.
import { api, apiBlob, base64Bytes, events, q } from './api.js';
import { clear, copyText, download, duration, el, statusBadge } from './dom.js';

const FINAL = new Set(['succeeded', 'failed', 'timed_out', 'cancelled', 'start_failed',
                       'undetermined', 'expired', 'skipped']);
// What one pane keeps on screen; the full output is always one Download away.
const SHOW_MAX = 1 << 20;

function safeName(s) {
  return String(s).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64) || 'task';
}

function exitText(task) {
  if (task.exit_code !== null && task.exit_code !== undefined) return `exit ${task.exit_code}`;
  if (task.signal) return `signal ${task.signal}`;
  return '';
}

function makePane(task, ctx) {
  const pane = {
    task,
    decoders: { stdout: new TextDecoder(), stderr: new TextDecoder() },
    lastSeq: -1,
    shown: 0,
    truncated: false,
  };
  pane.badge = el('span');
  pane.exit = el('span', { class: 'exit' });
  pane.dur = el('span', { class: 'muted' });
  pane.error = el('div', { class: 'error small' });
  pane.pre = el('pre', { class: 'output', tabindex: 0, 'aria-label': `Output of ${task.name}` });
  pane.note = el('div', { class: 'muted small' });
  const copy = el('button', { type: 'button' }, 'Copy output');
  copy.addEventListener('click', async () => {
    const ok = await copyText(pane.pre.textContent, pane.pre);
    copy.textContent = ok ? 'Copied' : 'Selected: press Ctrl+C';
    setTimeout(() => { copy.textContent = 'Copy output'; }, 2000);
  });
  const dl = el('button', { type: 'button' }, 'Download full output');
  dl.addEventListener('click', async () => {
    try {
      const blob = await apiBlob(`/v1/tasks/${q(pane.task.task_id)}/output`);
      download(`${safeName(pane.task.name)}-${safeName(pane.task.task_id)}.log`, blob);
    } catch (e) {
      ctx.showError(e);
    }
  });
  pane.root = el('article', { class: 'pane', 'data-task': String(task.task_id), 'data-name': String(task.name) },
    el('header', {}, el('h3', {}, String(task.name)), pane.badge, pane.exit, pane.dur),
    pane.error, pane.pre, pane.note, el('div', { class: 'actions' }, copy, dl));
  update(pane, task);
  if (task.agent_online === false) {
    pane.note.textContent = 'This host is offline: its task waits until it reconnects, or expires.';
  }
  return pane;
}

function update(pane, task) {
  pane.task = { ...pane.task, ...task };
  const t = pane.task;
  clear(pane.badge, statusBadge(t.status));
  pane.exit.textContent = exitText(t);
  pane.exit.className = `exit ${t.exit_code === 0 ? 'ok' : t.exit_code ? 'bad' : ''}`;
  pane.dur.textContent = duration(t.started_at, t.finished_at);
  pane.error.textContent = t.error ? String(t.error) : '';
  pane.root.dataset.status = String(t.status);
  if (t.dropped_bytes > 0) {
    pane.note.textContent = `${t.dropped_bytes} bytes in the middle were not kept by the server.`;
  }
}

function appendOutput(pane, stream, bytes) {
  const text = pane.decoders[stream === 'stderr' ? 'stderr' : 'stdout'].decode(bytes, { stream: true });
  if (pane.truncated || !text) return;
  let piece = text;
  if (pane.shown + piece.length > SHOW_MAX) {
    piece = piece.slice(0, Math.max(0, SHOW_MAX - pane.shown));
    pane.truncated = true;
    pane.note.textContent = 'Only the first 1 MiB is shown here: use Download for the full output.';
  }
  pane.shown += piece.length;
  const last = pane.pre.lastChild;
  // Consecutive chunks of one stream share one text node (cheap for chatty tasks).
  if (last && last.dataset && last.dataset.stream === stream) last.append(piece);
  else pane.pre.append(el('span', { class: stream === 'stderr' ? 'stderr' : null, 'data-stream': stream }, piece));
  if (pane.follow !== false) pane.pre.scrollTop = pane.pre.scrollHeight;
}

// Shows inv (an invocation object with tasks) in container and follows it until it ends.
// Returns a function that stops following.
export function watchInvocation(inv, container, ctx) {
  const abort = new AbortController();
  const panes = new Map();
  let ended = false;
  const status = el('span');
  const counts = el('span', { class: 'muted' });
  const cancel = el('button', { type: 'button', class: 'danger', id: 'run-cancel' }, 'Cancel');
  const grid = el('div', { class: 'panes' });

  const setStatus = (s) => clear(status, statusBadge(s));
  const refreshCounts = () => {
    const c = {};
    for (const p of panes.values()) c[p.task.status] = (c[p.task.status] || 0) + 1;
    counts.textContent = Object.entries(c).map(([k, v]) => `${v} ${k}`).join(', ');
  };
  let ticker = null;
  const finish = (s) => {
    ended = true;
    cancel.disabled = true;
    if (s) setStatus(s);
    clearInterval(ticker);
  };

  cancel.addEventListener('click', async () => {
    cancel.disabled = true;
    try {
      const res = await api('POST', `/v1/invocations/${q(inv.invocation_id)}/cancel`);
      // The stream's `end` may already have said how it ended; the answer is older news then.
      if (res && res.status && !ended) setStatus(res.status);
    } catch (e) {
      cancel.disabled = false;
      ctx.showError(e);
    }
  });

  clear(container,
    el('div', { class: 'invhead' }, el('strong', {}, 'Invocation '), el('code', {}, String(inv.invocation_id)),
      status, counts, el('span', { class: 'spacer' }), cancel),
    grid);
  setStatus(inv.status);
  for (const t of inv.tasks || []) {
    const p = makePane(t, ctx);
    panes.set(String(t.task_id), p);
    grid.append(p.root);
  }
  refreshCounts();

  ticker = setInterval(() => {
    for (const p of panes.values()) {
      if (!FINAL.has(p.task.status)) p.dur.textContent = duration(p.task.started_at, null);
    }
  }, 1000);

  const onEvent = (type, data) => {
    let msg;
    try { msg = JSON.parse(data); } catch { return; }
    if (type === 'task') {
      const p = panes.get(String(msg.task_id));
      if (p) update(p, msg);
      refreshCounts();
    } else if (type === 'output') {
      const p = panes.get(String(msg.task_id));
      // A reconnect replays the stored output: skip what this pane already has.
      if (!p || msg.seq <= p.lastSeq) return;
      p.lastSeq = msg.seq;
      appendOutput(p, msg.stream, base64Bytes(msg.data || ''));
    } else if (type === 'end') {
      finish(msg.status);
    }
  };

  (async () => {
    let failures = 0;
    while (!ended && !abort.signal.aborted) {
      try {
        await events(`/v1/invocations/${q(inv.invocation_id)}/events`, onEvent, abort.signal);
        failures = 0;
      } catch (e) {
        if (e.status === 401 || e.status === 403 || e.status === 404 || ++failures > 5) {
          ctx.showError(e);
          finish();
          return;
        }
      }
      if (!ended && !abort.signal.aborted) await new Promise((r) => setTimeout(r, 1000 * failures + 200));
    }
  })();

  return () => {
    abort.abort();
    clearInterval(ticker);
  };
}
