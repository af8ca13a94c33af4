'use strict';
const $ = (selector) => document.querySelector(selector);
const SVG = 'http://www.w3.org/2000/svg';
const build = (node, attributes, children) => {
  for (const [key, value] of Object.entries(attributes)) {
    if (key === 'class') node.setAttribute('class', value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(child ?? ''));
  return node;
};
const el = (tag, attributes = {}, ...children) => build(document.createElement(tag), attributes, children);
const svg = (tag, attributes = {}, ...children) => build(document.createElementNS(SVG, tag), attributes, children);
const time = (iso) => iso ? new Date(iso).toLocaleTimeString() : '';

class LoginRequired extends Error {}

const api = async (path, options) => {
  const response = await fetch(path, options);
  if (response.status === 401) { location.href = '/login'; throw new LoginRequired('login required'); }
  if (!response.ok) {
    const problem = response.headers.get('content-type')?.includes('json') ? await response.json() : null;
    throw new Error(problem?.detail ?? `${path}: HTTP ${response.status}`);
  }
  return response.status === 204 ? null : response.json();
};

// Polls run one at a time (the next starts when the previous finished), so a slow answer never interleaves with a newer one.
const poll = (intervalMs, refresh) => {
  const run = async () => {
    try {
      await refresh();
      setConnection(null);
    } catch (error) {
      if (!(error instanceof LoginRequired)) setConnection(error);
    }
    setTimeout(run, intervalMs);
  };
  run();
};

function setConnection(error) {
  const status = $('#connection');
  status.textContent = error ? `Disconnected from the AppHost (${error.message}); retrying…` : '';
  status.classList.toggle('lost', !!error);
}

function notify(message) {
  const notice = $('#notice');
  notice.textContent = message ?? '';
  notice.hidden = !message;
}

// ----- navigation: #resources, #console/<resource>, #traces/<traceId>, #logs, #metrics -----

function route() {
  const [view, argument] = (location.hash || '#resources').slice(1).split('/');
  return { view: view || 'resources', argument: argument ? decodeURIComponent(argument) : null };
}

function showView() {
  const { view, argument } = route();
  document.querySelectorAll('.view').forEach(v => v.hidden = v.id !== `view-${view}`);
  document.querySelectorAll('nav a').forEach(a => a.classList.toggle('active', a.dataset.view === view));
  if (view === 'console') selectConsole(argument ?? consoleResource ?? resources[0]?.name ?? null);
  if (view === 'traces') { refreshTraces().catch(setConnection); if (argument) showTrace(argument).catch(error => notify(error.message)); }
  if (view === 'logs') refreshLogs().catch(setConnection);
  if (view === 'metrics') refreshMetrics().catch(setConnection);
}

// ----- resources -----

let resources = [];
let renderedResources = '';
let selected = null;
const pending = new Set();
const terminal = new Set(['NotStarted', 'Exited', 'Finished', 'FailedToStart']);
// Only these run something that can be started, stopped or restarted; the others (parameters, databases, topics, …) are values.
const runnableTypes = new Set(['Project', 'Executable', 'Job']);

async function command(name, verb) {
  pending.add(name);
  renderResources();
  try {
    await api(`/api/resources/${encodeURIComponent(name)}/${verb}`, { method: 'POST' });
    notify(null);
  } catch (error) {
    if (!(error instanceof LoginRequired)) notify(`${verb} ${name} failed: ${error.message}`);
  } finally {
    pending.delete(name);
    await refreshResources().catch(setConnection);
  }
}

function actionButton(resource, verb, label, enabled) {
  return el('button', {
    'data-command': verb, disabled: !enabled || pending.has(resource.name),
    onclick: (e) => { e.stopPropagation(); command(resource.name, verb); },
  }, label);
}

function renderResources() {
  // Re-rendering only on change keeps hover, focus and a pressed button stable between polls.
  const key = JSON.stringify([resources, [...pending]]);
  if (key === renderedResources) return;
  renderedResources = key;
  $('#resources tbody').replaceChildren(...resources.map(r => {
    const stopped = terminal.has(r.state);
    const endpoints = el('td', { class: 'endpoints' }, ...r.urls.map(u => u.startsWith('http')
      ? el('a', { href: u, target: '_blank', rel: 'noopener noreferrer' }, u)
      : el('span', {}, u)));
    const actions = el('td', { class: 'actions' },
      ...(!runnableTypes.has(r.resourceType) ? [] : [
        actionButton(r, 'start', 'Start', stopped),
        actionButton(r, 'stop', 'Stop', !stopped),
        actionButton(r, 'restart', pending.has(r.name) ? 'Working…' : 'Restart', true)]),
      el('a', { class: 'button', 'data-command': 'logs', href: `#console/${encodeURIComponent(r.name)}`, onclick: (e) => e.stopPropagation() }, 'Logs'));
    return el('tr', { class: `clickable${r.name === selected ? ' selected' : ''}`, 'data-resource': r.name, onclick: () => { selected = r.name; renderedResources = ''; renderResources(); } },
      el('td', { class: 'name' }, r.name), el('td', {}, r.resourceType),
      el('td', { class: `state state-${r.state}`, title: r.message ?? '' }, r.state + (r.message ? ` — ${r.message}` : '')),
      el('td', { class: `health health-${r.health ?? 'none'}` }, r.health ?? ''),
      el('td', { class: 'started', 'data-started': r.startedAt ?? '', title: r.startedAt ?? '' }, time(r.startedAt)),
      el('td', { class: 'backing' }, r.backing), endpoints, actions);
  }));
  renderDetails();
  const picker = $('#console-resource');
  const names = resources.map(r => r.name);
  if ([...picker.options].map(o => o.value).join('\n') !== names.join('\n')) {
    picker.replaceChildren(...names.map(name => el('option', { value: name }, name)));
  }
  if (consoleResource) picker.value = consoleResource;
  const shown = resources.find(r => r.name === consoleResource);
  $('#console-state').textContent = shown ? `${shown.state}${shown.health ? ` (${shown.health})` : ''}` : '';
  $('#console-state').className = shown ? `state state-${shown.state}` : '';
  if (route().view === 'console' && !consoleResource && names.length) selectConsole(names[0]);
}

function renderDetails() {
  const resource = resources.find(r => r.name === selected);
  $('#details').hidden = !resource;
  if (!resource) return;
  $('#details-title').textContent = `${resource.name}: environment`;
  $('#details-summary').textContent = [
    resource.processId ? `process ${resource.processId}` : null,
    resource.startedAt ? `started ${new Date(resource.startedAt).toLocaleString()}` : null,
    resource.exitCode !== null && resource.exitCode !== undefined ? `exit code ${resource.exitCode}` : null,
    resource.dependsOn.length ? `waits for ${resource.dependsOn.join(', ')}` : null,
  ].filter(Boolean).join(' · ');
  $('#environment tbody').replaceChildren(...resource.environment.map(e =>
    el('tr', {}, el('td', {}, e.name), el('td', { class: e.isSecret ? 'secret' : '' }, e.value))));
}

async function refreshResources() {
  resources = await api('/api/resources');
  renderResources();
}

// ----- console logs -----

const maxConsoleLines = 5000;
let consoleResource = null;
let consoleSequence = 0;
let consoleGeneration = 0;

function selectConsole(name) {
  if (name === consoleResource) return;
  consoleResource = name;
  consoleSequence = 0;
  consoleGeneration++;
  $('#console-output').replaceChildren();
  if (name) $('#console-resource').value = name;
  renderedResources = '';
  renderResources();
  refreshConsole().catch(setConnection);
}

async function refreshConsole() {
  if (!consoleResource) return;
  const generation = consoleGeneration;
  const page = await api(`/api/resources/${encodeURIComponent(consoleResource)}/logs?after=${consoleSequence}`);
  // A newer selection, or a concurrent read that already appended these lines, wins.
  if (generation !== consoleGeneration || page.last <= consoleSequence) return;
  const output = $('#console-output');
  const atBottom = output.scrollTop + output.clientHeight >= output.scrollHeight - 5;
  output.append(...page.lines.filter(line => line.seq > consoleSequence).map(line => el('span', { class: `line ${line.stream}` },
    el('span', { class: 'timestamp' }, time(line.ts)), ` ${line.text}\n`)));
  while (output.childElementCount > maxConsoleLines) output.firstElementChild.remove();
  consoleSequence = page.last;
  if (atBottom) output.scrollTop = output.scrollHeight;
}

// ----- traces -----

let shownTrace = null;

async function refreshTraces() {
  const q = encodeURIComponent($('#trace-search').value);
  const traces = await api(`/api/traces?q=${q}`);
  $('#traces tbody').replaceChildren(...traces.map(t => el('tr', { class: `clickable${t.traceId === shownTrace ? ' selected' : ''}`, 'data-trace': t.traceId,
      onclick: () => { location.hash = `#traces/${t.traceId}`; } },
    el('td', {}, time(t.start)), el('td', { class: 'root' }, t.rootName + (t.hasError ? ' ⚠' : '')),
    el('td', {}, t.services.join(', ')), el('td', {}, String(t.spanCount)), el('td', {}, `${t.durationMs.toFixed(1)} ms`))));
}

async function showTrace(traceId) {
  const spans = await api(`/api/traces/${encodeURIComponent(traceId)}`);
  shownTrace = traceId;
  document.querySelectorAll('#traces tbody tr').forEach(tr => tr.classList.toggle('selected', tr.dataset.trace === traceId));
  $('#waterfall').hidden = false;
  if (spans.length === 0) {
    $('#waterfall-title').textContent = `Trace ${traceId} is no longer kept (telemetry is bounded).`;
    $('#spans').replaceChildren();
    return;
  }
  const start = Math.min(...spans.map(s => Date.parse(s.start)));
  const end = Math.max(...spans.map(s => Date.parse(s.start) + s.durationMs));
  const total = Math.max(end - start, 1);
  const byId = new Map(spans.map(s => [s.spanId, s]));
  const depth = (span) => { let d = 0; for (let p = byId.get(span.parentSpanId); p && d < 32; p = byId.get(p.parentSpanId)) d++; return d; };
  $('#waterfall-title').textContent = `Trace ${traceId} (${total.toFixed(1)} ms)`;
  $('#spans').replaceChildren(...spans.map(s => el('div', { class: 'span', 'data-span': s.spanId,
      title: [`${s.kind} span, status ${s.status}${s.statusMessage ? `: ${s.statusMessage}` : ''}`, ...Object.entries(s.attributes).map(([k, v]) => `${k}=${v}`)].join('\n') },
    el('div', { class: 'label', style: `padding-left:${depth(s)}rem` }, `${s.service}: ${s.name}`),
    el('div', { class: 'track' }, el('div', { class: `bar ${s.status === 'Error' ? 'error' : ''}`,
      style: `left:${(Date.parse(s.start) - start) / total * 100}%;width:${s.durationMs / total * 100}%` })),
    el('div', { class: 'duration' }, `${s.durationMs.toFixed(1)} ms`))));
}

// ----- structured logs -----

async function refreshLogs() {
  const q = encodeURIComponent($('#log-search').value);
  const logs = await api(`/api/logs?q=${q}&minSeverity=${$('#log-severity').value}`);
  $('#structured-logs tbody').replaceChildren(...logs.map(l => el('tr', { 'data-log': String(l.sequence),
      title: [l.category, ...Object.entries(l.attributes).map(([k, v]) => `${k}=${v}`)].filter(Boolean).join('\n') },
    el('td', {}, time(l.timestamp)), el('td', {}, l.instance), el('td', { class: `severity severity-${l.severity}` }, l.severity),
    el('td', { class: 'message' }, l.body), el('td', {}, traceLink(l)))));
}

function traceLink(log) {
  if (!log.traceId) return '';
  return log.traceKept
    ? el('a', { href: `#traces/${log.traceId}` }, log.traceId.slice(0, 8))
    : el('span', { class: 'untraced', title: 'Not recorded (health probes are not traced) or no longer kept' }, log.traceId.slice(0, 8));
}

// ----- metrics -----

let shownMetric = null;

async function refreshMetrics() {
  const metrics = await api('/api/metrics');
  const key = (m) => `${m.service}/${m.name}`;
  const list = $('#metric-list');
  if ([...list.children].map(b => b.dataset.metric).join('\n') !== metrics.map(key).join('\n')) {
    list.replaceChildren(...metrics.map(m => el('button', { 'data-metric': key(m), title: m.description, onclick: () => { shownMetric = m; refreshChart().catch(setConnection); } },
      `${m.service}: ${m.name}`)));
  }
  list.querySelectorAll('button').forEach(b => b.classList.toggle('active', shownMetric !== null && b.dataset.metric === key(shownMetric)));
  await refreshChart();
}

async function refreshChart() {
  const metric = shownMetric;
  if (!metric) return;
  const points = await api(`/api/metrics/series?service=${encodeURIComponent(metric.service)}&name=${encodeURIComponent(metric.name)}`);
  if (metric !== shownMetric) return;
  const width = 800, height = 260, left = 70, right = 20, top = 20, bottom = 30;
  const xs = points.map(p => Date.parse(p.time)), ys = points.map(p => p.value);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)], [y0, y1] = [Math.min(0, ...ys), Math.max(...ys, 1e-9)];
  const sx = x => left + (x - x0) / Math.max(x1 - x0, 1) * (width - left - right);
  const sy = y => height - bottom - (y - y0) / Math.max(y1 - y0, 1e-9) * (height - top - bottom);
  const path = points.map((p, i) => `${i ? 'L' : 'M'}${sx(xs[i]).toFixed(1)},${sy(ys[i]).toFixed(1)}`).join(' ');
  const latest = ys.length ? ys[ys.length - 1] : null;
  $('#metric-chart').replaceChildren(
    el('h2', {}, `${metric.service}: ${metric.name} `, el('small', {}, `(${metric.kind}${metric.unit ? `, ${metric.unit}` : ''})`)),
    el('p', {}, metric.description || ''),
    el('p', { class: 'latest' }, latest === null ? 'No points yet.' : `Latest: ${latest.toPrecision(4)} · ${points.length} points`),
    svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: 'chart' },
      svg('line', { x1: left, y1: height - bottom, x2: width - right, y2: height - bottom, class: 'axis' }),
      svg('line', { x1: left, y1: top, x2: left, y2: height - bottom, class: 'axis' }),
      svg('text', { x: left - 6, y: top + 4, 'text-anchor': 'end' }, y1.toPrecision(4)),
      svg('text', { x: left - 6, y: height - bottom, 'text-anchor': 'end' }, y0.toPrecision(4)),
      svg('text', { x: left, y: height - 8 }, points.length ? time(points[0].time) : ''),
      svg('text', { x: width - right, y: height - 8, 'text-anchor': 'end' }, points.length ? time(points[points.length - 1].time) : ''),
      svg('path', { d: path, class: 'series' })));
}

window.addEventListener('hashchange', showView);
$('#console-resource').addEventListener('change', (e) => { location.hash = `#console/${encodeURIComponent(e.target.value)}`; });
$('#trace-search').addEventListener('input', () => refreshTraces().catch(setConnection));
$('#log-search').addEventListener('input', () => refreshLogs().catch(setConnection));
$('#log-severity').addEventListener('change', () => refreshLogs().catch(setConnection));
showView();
poll(1000, refreshResources);
poll(1000, refreshConsole);
poll(2000, () => route().view === 'traces' ? refreshTraces() : null);
poll(2000, () => route().view === 'logs' ? refreshLogs() : null);
poll(2000, () => route().view === 'metrics' ? refreshMetrics() : null);
