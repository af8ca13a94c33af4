'use strict';
const $ = (selector) => document.querySelector(selector);
const el = (tag, attributes = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === 'class') node.className = value; else if (key.startsWith('on')) node.addEventListener(key.slice(2), value); else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(child ?? ''));
  return node;
};
const api = async (path, options) => {
  const response = await fetch(path, options);
  if (response.status === 401) { location.href = '/login'; throw new Error('login required'); }
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.status === 204 ? null : response.json();
};

let resources = [];
let selected = null;
let consoleResource = null;
let consoleSequence = 0;

function showView() {
  const view = (location.hash || '#resources').slice(1);
  document.querySelectorAll('.view').forEach(v => v.hidden = v.id !== `view-${view}`);
  document.querySelectorAll('nav a').forEach(a => a.classList.toggle('active', a.dataset.view === view));
  if (view === 'traces') loadTraces();
  if (view === 'logs') loadLogs();
  if (view === 'metrics') loadMetrics();
}

async function command(name, verb) {
  await api(`/api/resources/${encodeURIComponent(name)}/${verb}`, { method: 'POST' });
  await refreshResources();
}

function renderResources() {
  const body = $('#resources tbody');
  body.replaceChildren(...resources.map(r => {
    const endpoints = el('td', {}, ...r.urls.map(u => u.startsWith('http') ? el('a', { href: u, target: '_blank' }, u) : el('span', {}, u)).flatMap(n => [n, el('br')]));
    const actions = el('td', {},
      el('button', { 'data-command': 'start', onclick: (e) => { e.stopPropagation(); command(r.name, 'start'); } }, 'Start'),
      el('button', { 'data-command': 'stop', onclick: (e) => { e.stopPropagation(); command(r.name, 'stop'); } }, 'Stop'),
      el('button', { 'data-command': 'restart', onclick: (e) => { e.stopPropagation(); command(r.name, 'restart'); } }, 'Restart'),
      el('button', { 'data-command': 'logs', onclick: (e) => { e.stopPropagation(); openConsole(r.name); } }, 'Logs'));
    return el('tr', { class: 'clickable', 'data-resource': r.name, onclick: () => { selected = r.name; renderDetails(); } },
      el('td', {}, r.name), el('td', {}, r.resourceType),
      el('td', { class: `state state-${r.state}`, title: r.message ?? '' }, r.state + (r.message ? ` — ${r.message}` : '')),
      el('td', { class: `health health-${r.health ?? 'none'}` }, r.health ?? ''),
      el('td', { class: 'backing' }, r.backing), endpoints, actions);
  }));
  renderDetails();
  const picker = $('#console-resource');
  if (picker.options.length !== resources.length) {
    picker.replaceChildren(...resources.map(r => el('option', { value: r.name }, r.name)));
    if (consoleResource) picker.value = consoleResource;
  }
}

function renderDetails() {
  const resource = resources.find(r => r.name === selected);
  $('#details').hidden = !resource;
  if (!resource) return;
  $('#details-title').textContent = `${resource.name}: environment`;
  $('#environment tbody').replaceChildren(...resource.environment.map(e =>
    el('tr', {}, el('td', {}, e.name), el('td', { class: e.isSecret ? 'secret' : '' }, e.value))));
}

async function refreshResources() {
  resources = await api('/api/resources');
  renderResources();
}

function openConsole(name) {
  location.hash = '#console';
  $('#console-resource').value = name;
  selectConsole(name);
}

function selectConsole(name) {
  consoleResource = name;
  consoleSequence = 0;
  $('#console-output').replaceChildren();
  pollConsole();
}

async function pollConsole() {
  if (!consoleResource) return;
  const name = consoleResource;
  const page = await api(`/api/resources/${encodeURIComponent(name)}/logs?after=${consoleSequence}`);
  if (name !== consoleResource) return;
  const output = $('#console-output');
  const atBottom = output.scrollTop + output.clientHeight >= output.scrollHeight - 5;
  for (const line of page.lines) output.append(el('span', { class: line.stream }, `${line.text}\n`));
  consoleSequence = page.last;
  if (atBottom) output.scrollTop = output.scrollHeight;
}

async function loadTraces() {
  const q = encodeURIComponent($('#trace-search').value);
  const traces = await api(`/api/traces?q=${q}`);
  $('#traces tbody').replaceChildren(...traces.map(t => el('tr', { class: 'clickable', 'data-trace': t.traceId, onclick: () => showTrace(t.traceId) },
    el('td', {}, new Date(t.start).toLocaleTimeString()), el('td', {}, t.rootName + (t.hasError ? ' ⚠' : '')),
    el('td', {}, t.services.join(', ')), el('td', {}, String(t.spanCount)), el('td', {}, `${t.durationMs.toFixed(1)} ms`))));
}

async function showTrace(traceId) {
  const spans = await api(`/api/traces/${traceId}`);
  const start = Math.min(...spans.map(s => Date.parse(s.start)));
  const end = Math.max(...spans.map(s => Date.parse(s.start) + s.durationMs));
  const total = Math.max(end - start, 1);
  const depth = (span) => { let d = 0, p = span.parentSpanId; while (p && d < 32) { const parent = spans.find(s => s.spanId === p); if (!parent) break; d++; p = parent.parentSpanId; } return d; };
  $('#waterfall').hidden = false;
  $('#waterfall-title').textContent = `Trace ${traceId} (${total.toFixed(1)} ms)`;
  $('#spans').replaceChildren(...spans.map(s => el('div', { class: 'span', title: Object.entries(s.attributes).map(([k, v]) => `${k}=${v}`).join('\n') },
    el('div', { class: 'label', style: `padding-left:${depth(s)}rem` }, `${s.service}: ${s.name}`),
    el('div', { class: 'track' }, el('div', { class: `bar ${s.status === 'Error' ? 'error' : ''}`,
      style: `left:${(Date.parse(s.start) - start) / total * 100}%;width:${s.durationMs / total * 100}%` })),
    el('div', { style: 'width:6rem;text-align:right' }, `${s.durationMs.toFixed(1)} ms`))));
}

async function loadLogs() {
  const q = encodeURIComponent($('#log-search').value);
  const logs = await api(`/api/logs?q=${q}&minSeverity=${$('#log-severity').value}`);
  $('#structured-logs tbody').replaceChildren(...logs.map(l => el('tr', {},
    el('td', {}, new Date(l.timestamp).toLocaleTimeString()), el('td', {}, l.instance), el('td', {}, l.severity),
    el('td', {}, l.body), el('td', {}, l.traceId ? el('a', { href: '#traces', onclick: () => setTimeout(() => showTrace(l.traceId), 50) }, l.traceId.slice(0, 8)) : ''))));
}

async function loadMetrics() {
  const metrics = await api('/api/metrics');
  $('#metric-list').replaceChildren(...metrics.map(m => el('button', { 'data-metric': `${m.service}/${m.name}`, onclick: () => showMetric(m) }, `${m.service}: ${m.name}`)));
}

async function showMetric(metric) {
  const points = await api(`/api/metrics/series?service=${encodeURIComponent(metric.service)}&name=${encodeURIComponent(metric.name)}`);
  const width = 800, height = 240, pad = 40;
  const xs = points.map(p => Date.parse(p.time)), ys = points.map(p => p.value);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)], [y0, y1] = [Math.min(0, ...ys), Math.max(...ys, 1e-9)];
  const sx = x => pad + (x - x0) / Math.max(x1 - x0, 1) * (width - 2 * pad), sy = y => height - pad - (y - y0) / Math.max(y1 - y0, 1e-9) * (height - 2 * pad);
  const path = points.map((p, i) => `${i ? 'L' : 'M'}${sx(xs[i]).toFixed(1)},${sy(ys[i]).toFixed(1)}`).join(' ');
  $('#metric-chart').innerHTML = `<h2>${metric.service}: ${metric.name} <small>(${metric.kind}${metric.unit ? ', ' + metric.unit : ''})</small></h2>
    <p>${metric.description}</p>
    <svg width="${width}" height="${height}" style="background:#fff"><path d="${path}" fill="none" stroke="#512bd4" stroke-width="2"/>
    <text x="4" y="${pad}" font-size="11">${y1.toPrecision(4)}</text><text x="4" y="${height - pad}" font-size="11">${y0.toPrecision(4)}</text></svg>`;
}

window.addEventListener('hashchange', showView);
$('#console-resource').addEventListener('change', (e) => selectConsole(e.target.value));
$('#trace-search').addEventListener('input', loadTraces);
$('#log-search').addEventListener('input', loadLogs);
$('#log-severity').addEventListener('change', loadLogs);
showView();
refreshResources();
setInterval(refreshResources, 1000);
setInterval(pollConsole, 1000);
setInterval(() => { if (location.hash === '#traces' && $('#waterfall').hidden) loadTraces(); }, 3000);
