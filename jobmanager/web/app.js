// cdcflow dashboard: a hash-routed single page that polls the REST API (openapi.yaml).
(function () {
  'use strict';
  const POLL_MS = 1500;
  const view = document.getElementById('view');
  let config = {auth_required: false, version: ''};
  let timer = null;
  let generation = 0;  // bumps on navigation so stale responses are dropped
  const ui = {selectedVertex: null};

  // ---------- helpers ----------
  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'class') e.className = v;
      else if (k === 'style') e.setAttribute('style', v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      e.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }
  const fmtNum = n => {
    n = Number(n) || 0;
    const a = Math.abs(n);
    if (a >= 1e9) return (n / 1e9).toFixed(1) + 'G';
    if (a >= 1e6) return (n / 1e6).toFixed(1) + 'M';
    if (a >= 1e4) return (n / 1e3).toFixed(1) + 'k';
    return a >= 100 || Number.isInteger(n) ? Math.round(n).toLocaleString('en-US') : n.toFixed(1);
  };
  const fmtRate = n => fmtNum(n) + '/s';
  const fmtBytes = b => {
    b = Number(b) || 0;
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
    return (i ? b.toFixed(1) : b) + ' ' + u[i];
  };
  const fmtDur = ms => {
    ms = Math.max(0, Number(ms) || 0);
    if (ms < 1000) return ms + ' ms';
    const s = Math.floor(ms / 1000);
    if (s < 60) return (ms / 1000).toFixed(1) + ' s';
    const d = Math.floor(s / 86400), hh = Math.floor(s % 86400 / 3600), mm = Math.floor(s % 3600 / 60);
    return d ? `${d}d ${hh}h` : hh ? `${hh}h ${mm}m` : `${mm}m ${s % 60}s`;
  };
  const fmtTime = ms => ms ? new Date(ms).toLocaleTimeString('en-GB') : '—';
  const fmtDateTime = ms => ms ? new Date(ms).toLocaleString('en-GB') : '—';
  const pct = r => Math.round((Number(r) || 0) * 100) + '%';
  function stateClass(s) {
    switch (s) {
      case 'RUNNING': case 'COMPLETED': case 'FINISHED': return 's-ok';
      case 'FAILED': case 'LOST': return 's-bad';
      case 'RESTARTING': case 'CANCELLING': case 'CANCELING': case 'IN_PROGRESS':
      case 'DEPLOYING': case 'PAUSED': case 'UNASSIGNED': return 's-warn';
      default: return 's-idle';
    }
  }
  const badge = (s, testid) => h('span', {class: 'badge ' + stateClass(s), 'data-testid': testid}, s);
  const bpBar = r => h('span', {}, h('span', {class: 'bar bp'}, h('i', {style: `width:${pct(r)}`})), pct(r));
  const busyBar = r => h('span', {}, h('span', {class: 'bar'}, h('i', {style: `width:${pct(r)}`})), pct(r));
  const jobDuration = j => (j.end_time_ms || Date.now()) - j.start_time_ms;

  function table(headers, rows, empty) {
    if (!rows.length) return h('div', {class: 'empty'}, empty || 'Nothing here yet.');
    return h('table', {},
      h('thead', {}, h('tr', {}, headers.map(x => {
        const [label, cls] = Array.isArray(x) ? x : [x, ''];
        return h('th', {class: cls}, label);
      }))),
      h('tbody', {}, rows));
  }

  function toast(msg, bad) {
    const t = document.getElementById('toast');
    t.textContent = msg;
    t.className = 'toast' + (bad ? ' bad' : '');
    t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { t.hidden = true; }, 5000);
  }

  function confirmDialog(title, body, okLabel, danger) {
    const d = document.getElementById('dialog');
    document.getElementById('dialog-title').textContent = title;
    const b = document.getElementById('dialog-body');
    b.replaceChildren(body instanceof Node ? body : document.createTextNode(body));
    const ok = document.getElementById('dialog-ok');
    ok.textContent = okLabel || 'OK';
    ok.className = danger ? 'danger' : '';
    d.returnValue = '';
    return new Promise(resolve => {
      d.addEventListener('close', () => resolve(d.returnValue === 'ok'), {once: true});
      d.showModal();
    });
  }

  // ---------- API ----------
  function authHeaders() {
    const t = localStorage.getItem('cdcflow.token');
    return t ? {Authorization: 'Bearer ' + t} : {};
  }
  async function api(path) {
    const r = await fetch(path, {cache: 'no-store'});
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(body.error || `HTTP ${r.status} for ${path}`);
    return body;
  }
  async function action(path, opts) {
    const r = await fetch(path, Object.assign({method: 'POST'}, opts, {
      headers: Object.assign({}, (opts || {}).headers, authHeaders())}));
    const body = await r.json().catch(() => ({}));
    if (r.status === 401) {
      askToken();
      throw new Error('Not authorized: set the REST token (top right) and retry.');
    }
    if (!r.ok) throw new Error(body.error || `HTTP ${r.status}`);
    return body;
  }
  async function askToken() {
    const input = h('input', {type: 'password', placeholder: 'bearer token', value: localStorage.getItem('cdcflow.token') || ''});
    const body = h('div', {}, h('p', {class: 'muted'}, 'Submit, cancel and savepoint need the job manager\'s REST token. It is kept in this browser only.'), input);
    if (await confirmDialog('REST token', body, 'Save')) {
      if (input.value) localStorage.setItem('cdcflow.token', input.value);
      else localStorage.removeItem('cdcflow.token');
    }
  }

  async function cancelJob(job) {
    const ok = await confirmDialog('Cancel job?',
      h('div', {}, 'Job ', h('b', {}, job.name), ' (', h('span', {class: 'mono'}, job.id),
        ') stops; sources stop reading and no savepoint is taken.'), 'Cancel job', true);
    if (!ok) return;
    try {
      await action(`/api/v1/jobs/${encodeURIComponent(job.id)}/cancel`);
      toast(`Cancelling ${job.name}…`);
      refresh();
    } catch (e) { toast(e.message, true); }
  }
  async function savepoint(job) {
    const input = h('input', {placeholder: 'target directory (empty = configured default)'});
    const ok = await confirmDialog('Trigger savepoint', h('div', {}, input), 'Trigger');
    if (!ok) return;
    try {
      const r = await action(`/api/v1/jobs/${encodeURIComponent(job.id)}/savepoints`, {
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify(input.value ? {target_directory: input.value} : {})});
      toast(`Savepoint ${r.checkpoint_id} triggered`);
      location.hash = `#/jobs/${job.id}/checkpoints`;
    } catch (e) { toast(e.message, true); }
  }

  // ---------- views ----------
  function jobRows(jobs) {
    const order = {RUNNING: 0, RESTARTING: 1, CANCELLING: 2, CREATED: 3};
    jobs = jobs.slice().sort((a, b) => ((order[a.state] ?? 9) - (order[b.state] ?? 9)) || b.start_time_ms - a.start_time_ms);
    return jobs.map(j => h('tr', {class: 'click', 'data-testid': 'job-row', 'data-job': j.id,
      onclick: () => { location.hash = `#/jobs/${j.id}/graph`; }},
      h('td', {}, h('a', {href: `#/jobs/${j.id}/graph`}, j.name)),
      h('td', {}, badge(j.state)),
      h('td', {class: 'mono muted'}, j.id),
      h('td', {}, fmtDateTime(j.start_time_ms)),
      h('td', {class: 'num'}, fmtDur(jobDuration(j))),
      h('td', {class: 'num'}, j.parallelism),
      h('td', {class: 'num'}, j.vertex_count),
      h('td', {class: 'num'}, j.restarts)));
  }
  const JOB_HEADERS = ['Name', 'State', 'Id', 'Started', ['Duration', 'num'], ['Parallelism', 'num'], ['Vertices', 'num'], ['Restarts', 'num']];

  async function overviewView() {
    const [o, jobs] = await Promise.all([api('/api/v1/overview'), api('/api/v1/jobs')]);
    const card = (label, value, sub) => h('div', {class: 'card'}, h('div', {class: 'label'}, label), h('div', {class: 'value'}, value), sub ? h('div', {class: 'sub'}, sub) : null);
    return [
      h('h1', {}, 'Cluster overview'),
      h('div', {class: 'cards'},
        card('Task managers', o.taskmanagers),
        card('Slots available', `${o.slots_available} / ${o.slots_total}`, 'free / total'),
        card('Running jobs', o.jobs_running),
        card('Finished', o.jobs_finished),
        card('Cancelled', o.jobs_cancelled),
        card('Failed', o.jobs_failed),
        card('Up since', fmtTime(o.start_time_ms), fmtDur(Date.now() - o.start_time_ms))),
      h('h2', {}, 'Jobs'),
      h('div', {class: 'panel'}, table(JOB_HEADERS, jobRows(jobs.jobs), 'No jobs yet. Submit one from “Submit job”.')),
    ];
  }

  async function jobsView() {
    const jobs = await api('/api/v1/jobs');
    return [h('h1', {}, 'Jobs'), h('div', {class: 'panel'}, table(JOB_HEADERS, jobRows(jobs.jobs), 'No jobs yet.'))];
  }

  async function taskManagersView() {
    const r = await api('/api/v1/taskmanagers');
    const rows = r.taskmanagers.map(t => h('tr', {},
      h('td', {class: 'mono'}, t.id),
      h('td', {class: 'mono'}, t.address),
      h('td', {}, badge(t.state)),
      h('td', {}, h('span', {class: 'slots'}, t.slots.map(s => h('i', {class: s.job_id ? 'used' : '', title: s.job_id ? `slot ${s.index}: job ${s.job_id} subtask ${s.subtask}` : `slot ${s.index}: free`}))),
        ' ', `${t.slots_total - t.slots_free} / ${t.slots_total} used`),
      h('td', {}, fmtDur(Date.now() - t.last_heartbeat_ms) + ' ago'),
      h('td', {}, fmtDateTime(t.registered_ms)),
      h('td', {}, t.metrics_url ? h('a', {href: t.metrics_url}, 'metrics') : '—')));
    const slotRows = [];
    for (const t of r.taskmanagers) for (const s of t.slots) {
      if (s.job_id) slotRows.push(h('tr', {}, h('td', {class: 'mono'}, t.id), h('td', {class: 'num'}, s.index),
        h('td', {}, h('a', {href: `#/jobs/${s.job_id}/graph`, class: 'mono'}, s.job_id)), h('td', {class: 'num'}, s.subtask)));
    }
    return [h('h1', {}, 'Task managers'),
      h('div', {class: 'panel'}, table(['Id', 'Address', 'State', 'Slots', 'Last heartbeat', 'Registered', 'Metrics'], rows, 'No task manager has registered.')),
      h('h2', {}, 'Slots in use'),
      h('div', {class: 'panel'}, table(['Task manager', ['Slot', 'num'], 'Job', ['Subtask', 'num']], slotRows, 'All slots are free.'))];
  }

  function metricsCells(m) {
    return [h('td', {class: 'num'}, fmtNum(m.records_in)), h('td', {class: 'num'}, fmtRate(m.records_in_per_sec)),
      h('td', {class: 'num'}, fmtNum(m.records_out)), h('td', {class: 'num'}, fmtRate(m.records_out_per_sec)),
      h('td', {}, busyBar(m.busy_ratio)), h('td', {}, bpBar(m.backpressure_ratio))];
  }
  const METRIC_HEADERS = [['Records in', 'num'], ['In rate', 'num'], ['Records out', 'num'], ['Out rate', 'num'], 'Busy', 'Backpressure'];

  async function jobView(id, tab) {
    tab = tab || 'graph';
    const job = await api(`/api/v1/jobs/${encodeURIComponent(id)}`);
    const running = job.state === 'RUNNING' || job.state === 'RESTARTING';
    const tabs = [['graph', 'Graph'], ['checkpoints', 'Checkpoints'], ['lag', 'Lag & watermarks'], ['exceptions', 'Exceptions'], ['config', 'Configuration']];
    const head = h('div', {class: 'jobhead'},
      h('div', {},
        h('h1', {}, job.name, badge(job.state, 'job-state')),
        h('div', {class: 'meta'},
          h('span', {class: 'mono'}, job.id),
          h('span', {}, 'started ', fmtDateTime(job.start_time_ms)),
          h('span', {}, 'duration ', fmtDur(jobDuration(job))),
          h('span', {}, 'parallelism ', job.parallelism),
          h('span', {}, 'restarts ', job.restarts),
          h('span', {}, 'Kafka lag ', fmtNum(job.total_lag)))),
      h('div', {class: 'actions'},
        h('button', {class: 'ghost', disabled: !running, onclick: () => savepoint(job), 'data-testid': 'savepoint-job'}, 'Savepoint'),
        h('button', {class: 'danger', disabled: !running, onclick: () => cancelJob(job), 'data-testid': 'cancel-job'}, 'Cancel job')));
    const tabBar = h('div', {class: 'tabs'}, tabs.map(([k, label]) =>
      h('a', {href: `#/jobs/${id}/${k}`, class: k === tab ? 'active' : '', 'data-testid': 'tab-' + k}, label)));
    let body;
    if (tab === 'graph') body = await graphTab(job);
    else if (tab === 'checkpoints') body = await checkpointsTab(id);
    else if (tab === 'lag') body = await lagTab(id);
    else if (tab === 'exceptions') body = await exceptionsTab(id);
    else body = configTab(job);
    return [head, tabBar, body];
  }

  // Client-side history of a job's throughput and lag, for the sparklines (last ~3 min).
  const history = new Map();
  function recordHistory(job) {
    const sum = xs => xs.reduce((a, b) => a + b, 0);
    const point = {
      t: Date.now(),
      read: sum(job.vertices.filter(v => v.kind === 'source').map(v => v.metrics.records_out_per_sec)),
      write: sum(job.vertices.filter(v => v.kind === 'sink').map(v => v.metrics.records_in_per_sec)),
      lag: job.total_lag,
      bp: Math.max(0, ...job.vertices.map(v => v.metrics.backpressure_ratio)),
    };
    const pts = (history.get(job.id) || []).concat([point]).slice(-120);
    history.set(job.id, pts);
    return pts;
  }
  function sparkline(values, cls) {
    const NS = 'http://www.w3.org/2000/svg', w = 220, ht = 40;
    const svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('viewBox', `0 0 ${w} ${ht}`);
    svg.setAttribute('class', 'spark ' + (cls || ''));
    svg.setAttribute('preserveAspectRatio', 'none');
    if (values.length < 2) return svg;
    const max = Math.max(...values, 1e-9);
    const xy = values.map((v, i) => [i * w / (values.length - 1), ht - 2 - (v / max) * (ht - 6)]);
    const line = xy.map(p => p.map(n => n.toFixed(1)).join(',')).join(' ');
    const area = document.createElementNS(NS, 'polygon');
    area.setAttribute('points', `0,${ht} ${line} ${w},${ht}`);
    svg.appendChild(area);
    const pl = document.createElementNS(NS, 'polyline');
    pl.setAttribute('points', line);
    svg.appendChild(pl);
    return svg;
  }
  function trendCards(pts) {
    const last = pts[pts.length - 1];
    const card = (label, value, values, cls) => h('div', {class: 'card trend'},
      h('div', {class: 'label'}, label), h('div', {class: 'value'}, value), sparkline(values, cls));
    return h('div', {class: 'cards trends'},
      card('Read by sources', fmtRate(last.read), pts.map(p => p.read)),
      card('Written to sinks', fmtRate(last.write), pts.map(p => p.write)),
      card('Kafka lag (records)', fmtNum(last.lag), pts.map(p => p.lag), 'warn'),
      card('Max backpressure', pct(last.bp), pts.map(p => p.bp), 'bad'));
  }

  async function graphTab(job) {
    const wrap = h('div', {class: 'graph-wrap'});
    const canvas = h('div', {});
    wrap.appendChild(canvas);
    if (!job.vertices.some(v => v.id === ui.selectedVertex)) ui.selectedVertex = null;
    window.cdcflowGraph.render(canvas, job.vertices, job.edges, {
      selected: ui.selectedVertex, fmtRate,
      onSelect: vid => { ui.selectedVertex = vid; refresh(); }});
    wrap.appendChild(h('div', {class: 'legend'},
      h('span', {}, h('i', {class: 'dot s-ok'}), 'backpressure < 10%'),
      h('span', {}, h('i', {class: 'dot s-warn'}), '10–50%'),
      h('span', {}, h('i', {class: 'dot s-bad'}), '≥ 50%'),
      h('span', {}, h('i', {class: 'dot s-idle'}), 'not running'),
      h('span', {style: 'margin-left:auto'}, 'Click a vertex for its subtasks')));
    const rows = job.vertices.map(v => h('tr', {class: 'click' + (v.id === ui.selectedVertex ? ' selected' : ''), onclick: () => { ui.selectedVertex = v.id; refresh(); }},
      h('td', {}, v.name), h('td', {}, badge(v.state)), h('td', {class: 'num'}, v.parallelism), metricsCells(v.metrics)));
    const parts = [trendCards(recordHistory(job)), wrap, h('h2', {}, 'Vertices'), h('div', {class: 'panel'}, table(['Vertex', 'State', ['P', 'num'], ...METRIC_HEADERS], rows))];
    if (ui.selectedVertex) {
      const v = await api(`/api/v1/jobs/${encodeURIComponent(job.id)}/vertices/${encodeURIComponent(ui.selectedVertex)}`);
      const srows = v.subtasks.map(s => h('tr', {}, h('td', {class: 'num'}, s.index), h('td', {}, badge(s.state)),
        h('td', {class: 'mono'}, s.taskmanager_id || '—'), h('td', {}, s.watermark_ms ? fmtTime(s.watermark_ms) : '—'), metricsCells(s.metrics)));
      parts.push(h('h2', {}, `Subtasks of ${v.name}`), h('div', {class: 'panel', 'data-testid': 'subtasks'},
        table([['#', 'num'], 'State', 'Task manager', 'Watermark', ...METRIC_HEADERS], srows)));
    }
    return h('div', {}, parts);
  }

  async function checkpointsTab(id) {
    const c = await api(`/api/v1/jobs/${encodeURIComponent(id)}/checkpoints`);
    const l = c.latest_completed;
    const card = (label, value, sub) => h('div', {class: 'card'}, h('div', {class: 'label'}, label), h('div', {class: 'value'}, value), sub ? h('div', {class: 'sub'}, sub) : null);
    const rows = c.history.map(k => h('tr', {'data-testid': 'checkpoint-row'},
      h('td', {class: 'num'}, k.id),
      h('td', {}, badge(k.status), k.savepoint ? h('span', {class: 'badge s-idle', style: 'margin-left:6px'}, 'savepoint') : null),
      h('td', {}, fmtTime(k.trigger_time_ms)),
      h('td', {class: 'num'}, k.status === 'IN_PROGRESS' ? '…' : fmtDur(k.duration_ms)),
      h('td', {class: 'num'}, fmtBytes(k.size_bytes)),
      h('td', {class: 'num'}, fmtDur(k.alignment_ms)),
      h('td', {class: 'num'}, `${k.acknowledged}/${k.total}`),
      h('td', {class: 'wrap mono muted'}, k.failure_reason || k.path)));
    return h('div', {'data-testid': 'checkpoints'},
      h('div', {class: 'cards'},
        card('Completed', c.counts.completed), card('Failed', c.counts.failed), card('In progress', c.counts.in_progress),
        card('Latest', l ? '#' + l.id : '—', l ? `${fmtTime(l.trigger_time_ms)} · ${fmtDur(l.duration_ms)} · ${fmtBytes(l.size_bytes)}` : 'none completed yet')),
      h('h2', {}, 'History'),
      h('div', {class: 'panel'}, table([['Id', 'num'], 'Status', 'Triggered', ['Duration', 'num'], ['Size', 'num'], ['Alignment', 'num'], ['Acks', 'num'], 'Path / failure'], rows, 'No checkpoint yet.')));
  }

  async function lagTab(id) {
    const [lag, wm] = await Promise.all([api(`/api/v1/jobs/${encodeURIComponent(id)}/lag`), api(`/api/v1/jobs/${encodeURIComponent(id)}/watermarks`)]);
    const prow = lag.partitions.map(p => h('tr', {}, h('td', {}, p.topic), h('td', {class: 'num'}, p.partition), h('td', {}, p.vertex), h('td', {class: 'num'}, p.subtask),
      h('td', {class: 'num'}, fmtNum(p.current_offset)), h('td', {class: 'num'}, fmtNum(p.end_offset)), h('td', {class: 'num'}, fmtNum(p.lag))));
    const trow = lag.topics.map(t => h('tr', {}, h('td', {}, t.topic), h('td', {class: 'num'}, fmtNum(t.lag))));
    const now = Date.now();
    const wrow = wm.watermarks.map(w => h('tr', {}, h('td', {}, w.vertex), h('td', {class: 'num'}, w.subtask),
      h('td', {}, w.watermark_ms ? fmtTime(w.watermark_ms) : '—'), h('td', {class: 'num'}, w.watermark_ms ? fmtDur(now - w.watermark_ms) : '—')));
    return h('div', {}, h('div', {class: 'grid2'},
      h('div', {}, h('h2', {}, 'Lag per topic'), h('div', {class: 'panel'}, table(['Topic', ['Lag (records)', 'num']], trow, 'This job reads no Kafka topic.'))),
      h('div', {}, h('h2', {}, 'Watermarks'), h('div', {class: 'panel'}, table(['Vertex', ['Subtask', 'num'], 'Watermark', ['Behind now', 'num']], wrow)))),
      h('h2', {}, 'Lag per partition'),
      h('div', {class: 'panel'}, table(['Topic', ['Partition', 'num'], 'Source', ['Subtask', 'num'], ['Position', 'num'], ['End offset', 'num'], ['Lag', 'num']], prow, 'No partitions assigned.')));
  }

  async function exceptionsTab(id) {
    const r = await api(`/api/v1/jobs/${encodeURIComponent(id)}/exceptions`);
    const rows = r.exceptions.map(e => h('tr', {}, h('td', {}, fmtDateTime(e.timestamp_ms)),
      h('td', {}, e.vertex ? `${e.vertex}${e.subtask >= 0 ? ' #' + e.subtask : ''}` : 'job'),
      h('td', {class: 'mono'}, e.taskmanager_id || '—'),
      h('td', {class: 'wrap'}, e.message, e.stack ? h('pre', {class: 'stack'}, e.stack) : null)));
    return h('div', {}, h('p', {class: 'muted'}, `Restarts: ${r.restarts}`),
      h('div', {class: 'panel'}, table(['Time', 'Where', 'Task manager', 'Exception'], rows, 'No exceptions. 🎉')));
  }

  function configTab(job) {
    return h('div', {class: 'panel'}, table(['Key', 'Value'], [
      h('tr', {}, h('td', {}, 'Job id'), h('td', {class: 'mono'}, job.id)),
      h('tr', {}, h('td', {}, 'Name'), h('td', {}, job.name)),
      h('tr', {}, h('td', {}, 'Default parallelism'), h('td', {}, job.parallelism)),
      h('tr', {}, h('td', {}, 'Arguments'), h('td', {class: 'mono wrap'}, job.args.join(' ') || '—')),
      h('tr', {}, h('td', {}, 'Edges'), h('td', {class: 'wrap'}, job.edges.map(e => `${e.source} →(${e.partitioning}) ${e.target}`).join(', ')))]));
  }

  async function pipelineView() {
    const p = await api('/api/v1/pipeline');
    const c = p.connect;
    const connectCards = !c.reachable
      ? [h('div', {class: 'card bad'}, h('div', {class: 'name'}, h('i', {class: 'dot s-bad'}), 'Kafka Connect unreachable'), h('div', {class: 'kv'}, c.error))]
      : c.connectors.length === 0 ? [h('div', {class: 'card warn'}, h('div', {class: 'name'}, 'No connectors'), h('div', {class: 'kv'}, c.url))]
      : c.connectors.map(k => {
        const bad = k.state !== 'RUNNING' || k.tasks.some(t => t.state !== 'RUNNING');
        return h('div', {class: 'card' + (bad ? ' bad' : ''), 'data-testid': 'connector'},
          h('div', {class: 'name'}, h('i', {class: 'dot ' + stateClass(bad ? 'FAILED' : 'RUNNING')}), k.name),
          h('div', {class: 'kv'}, badge(k.state), ' ', k.type, ' · ', (k.connector_class || '').split('.').pop()),
          k.tables ? h('div', {class: 'kv'}, 'tables ', h('b', {}, k.tables)) : null,
          k.topic_prefix ? h('div', {class: 'kv'}, 'topic prefix ', h('b', {}, k.topic_prefix)) : null,
          k.tasks.map(t => h('div', {class: 'kv'}, `task ${t.id} `, badge(t.state), ` ${t.worker_id}`,
            t.trace ? h('div', {class: 'trace'}, t.trace) : null)));
      });
    const topicCards = p.topics.length ? p.topics.map(t => {
      const cls = t.lag > 100000 ? 'bad' : t.lag > 10000 ? 'warn' : '';
      return h('div', {class: 'card ' + cls, 'data-testid': 'topic'}, h('div', {class: 'name mono'}, t.topic),
        h('div', {class: 'kv'}, 'consumer lag ', h('b', {}, fmtNum(t.lag)), ' records'),
        h('div', {class: 'kv'}, 'read by ', t.job_ids.map(id => h('a', {href: `#/jobs/${id}/lag`, class: 'mono'}, id.slice(0, 8) + ' '))));
    }) : [h('div', {class: 'card'}, h('div', {class: 'kv'}, 'No Kafka source is running.'))];
    const jobCards = p.jobs.length ? p.jobs.map(j => h('div', {class: 'card' + (j.state === 'FAILED' ? ' bad' : j.state !== 'RUNNING' ? ' warn' : ''), 'data-testid': 'pipeline-job'},
      h('div', {class: 'name'}, h('i', {class: 'dot ' + stateClass(j.state)}), h('a', {href: `#/jobs/${j.id}/graph`}, j.name)),
      h('div', {class: 'kv'}, badge(j.state), ` up ${fmtDur(jobDuration(j))} · restarts ${j.restarts}`),
      j.sources.map(s => h('div', {class: 'kv'}, '⇢ ', h('b', {}, s.target || s.name), ' ', fmtRate(s.records_out_per_sec))),
      h('div', {class: 'kv'}, 'total lag ', h('b', {}, fmtNum(j.total_lag))))) : [h('div', {class: 'card'}, h('div', {class: 'kv'}, 'No cdcflow job.'))];
    const sinkCards = [];
    for (const j of p.jobs) for (const s of j.sinks) {
      const st = s.state !== 'RUNNING' ? s.state : s.backpressure_ratio >= 0.5 ? 'FAILED' : 'RUNNING';
      sinkCards.push(h('div', {class: 'card' + (s.state !== 'RUNNING' ? ' warn' : ''), 'data-testid': 'sink'},
        h('div', {class: 'name'}, h('i', {class: 'dot ' + stateClass(st)}), s.connector ? s.connector[0].toUpperCase() + s.connector.slice(1) : s.name),
        h('div', {class: 'kv'}, h('b', {class: 'mono'}, s.target || s.name)),
        h('div', {class: 'kv'}, 'writing ', h('b', {}, fmtRate(s.records_in_per_sec)), ' · from ', j.name),
        h('div', {class: 'kv'}, badge(s.state), ' backpressure ', h('b', {}, pct(s.backpressure_ratio)))));
    }
    if (!sinkCards.length) sinkCards.push(h('div', {class: 'card'}, h('div', {class: 'kv'}, 'No sink running.')));
    return [h('h1', {}, 'Pipeline', h('span', {class: 'muted', style: 'font-size:13px;font-weight:400'}, 'Debezium → Kafka → cdcflow → Elasticsearch / Kafka')),
      h('div', {class: 'flow'},
        h('div', {class: 'stage'}, h('h3', {}, 'Debezium (Kafka Connect)'), connectCards, h('div', {class: 'kv muted', style: 'font-size:12px'}, c.url)),
        h('div', {class: 'stage'}, h('h3', {}, 'Kafka topics'), topicCards),
        h('div', {class: 'stage'}, h('h3', {}, 'cdcflow'), jobCards),
        h('div', {class: 'stage'}, h('h3', {}, 'Sinks'), sinkCards))];
  }

  function submitView() {
    const file = h('input', {type: 'file', name: 'plugin', accept: '.so', required: true, 'data-testid': 'submit-file'});
    const args = h('textarea', {name: 'args', placeholder: '--brokers 127.0.0.1:9092 --es http://127.0.0.1:9200'});
    const par = h('input', {type: 'number', name: 'parallelism', min: 0, max: 4096, placeholder: 'job default'});
    const sp = h('input', {name: 'savepoint_path', placeholder: 'restore from savepoint (optional)'});
    const status = h('div', {});
    const form = h('form', {class: 'submit', onsubmit: async ev => {
      ev.preventDefault();
      const fd = new FormData(form);
      if (!par.value) fd.delete('parallelism');
      if (!sp.value) fd.delete('savepoint_path');
      try {
        const r = await action('/api/v1/jobs', {body: fd});
        toast('Submitted job ' + r.job_id);
        location.hash = `#/jobs/${r.job_id}/graph`;
      } catch (e) { status.replaceChildren(h('div', {class: 'error-box'}, e.message)); }
    }},
    h('label', {}, 'Job plugin (.so)'), file,
    h('label', {}, 'Arguments'), args,
    h('label', {}, 'Parallelism'), par,
    h('label', {}, 'Savepoint'), sp,
    h('span', {}), h('div', {}, h('button', {type: 'submit', 'data-testid': 'submit-button'}, 'Submit job'),
      config.auth_required ? h('span', {class: 'muted', style: 'margin-left:10px'}, 'needs the REST token') : null),
    h('span', {}), status);
    return [h('h1', {}, 'Submit a job'), h('div', {class: 'panel'}, form)];
  }

  // ---------- routing and polling ----------
  function route() {
    const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
    return {name: parts[0] || 'overview', args: parts.slice(1)};
  }

  async function refresh() {
    const gen = generation;
    const r = route();
    for (const a of document.querySelectorAll('#nav a')) {
      a.classList.toggle('active', a.dataset.route === r.name || (r.name === 'jobs' && a.dataset.route === 'jobs'));
    }
    let content;
    try {
      switch (r.name) {
        case 'jobs': content = r.args[0] ? await jobView(r.args[0], r.args[1]) : await jobsView(); break;
        case 'taskmanagers': content = await taskManagersView(); break;
        case 'pipeline': content = await pipelineView(); break;
        case 'submit': content = submitView(); break;
        default: content = await overviewView();
      }
      document.getElementById('live').classList.remove('stale');
    } catch (e) {
      document.getElementById('live').classList.add('stale');
      content = [h('div', {class: 'error-box'}, e.message)];
    }
    if (gen !== generation) return;  // navigated meanwhile
    // The submit form keeps what the user typed: render it once per navigation.
    if (r.name === 'submit' && view.dataset.rendered === 'submit') return;
    view.dataset.rendered = r.name;
    const scroll = window.scrollY;
    view.replaceChildren(...[].concat(content));
    window.scrollTo(0, scroll);
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      if (!document.getElementById('dialog').open) await refresh();
      schedule();
    }, POLL_MS);
  }

  function applyTheme(t) {
    document.documentElement.dataset.theme = t;
    localStorage.setItem('cdcflow.theme', t);
  }

  async function init() {
    applyTheme(localStorage.getItem('cdcflow.theme') ||
      (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'));
    document.getElementById('theme-btn').onclick = () =>
      applyTheme(document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark');
    document.getElementById('token-btn').onclick = askToken;
    try {
      config = await api('/api/v1/config');
      document.getElementById('version').textContent = 'v' + config.version;
      document.getElementById('token-btn').hidden = !config.auth_required;
    } catch (e) { /* shown by the first refresh */ }
    window.addEventListener('hashchange', () => {
      generation++;
      view.dataset.rendered = '';
      ui.selectedVertex = null;
      refresh();
      schedule();
    });
    await refresh();
    schedule();
  }
  init();
})();
