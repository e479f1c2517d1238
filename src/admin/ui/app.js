// The smsc dashboard: plain browser JavaScript, no build step, no framework.
// Polls /api/stats every second (throughput chart, queue, errors), /api/sessions every two
// seconds, /api/connectors every five and /api/accounts and /api/routing every ten. Every value
// from the server is written with textContent, never as HTML.

const TOKEN_KEY = 'smsc-admin-token';
const HISTORY = 120; // chart points (seconds)
const STATES = ['SCHEDULED', 'ENROUTE', 'DELIVERED', 'EXPIRED', 'DELETED', 'UNDELIVERABLE', 'ACCEPTED', 'UNKNOWN', 'REJECTED', 'SKIPPED'];
const IN_COMMANDS = ['submit_sm', 'submit_multi', 'data_sm'];
const COLORS = { in: '#2f7de1', out: '#1a9e5c', err: '#d64545', grid: '#e3e6ea', text: '#6b7280' };

const $ = (id) => document.getElementById(id);

let token = '';
let running = false;
let generation = 0; // bumped on logout, so loops of an earlier login stop
let previous; // { at, in, out, err, outcomes, errorsByStatus }
let sessionPolls = 0;
const history = [];

// ---- token ------------------------------------------------------------------------------

function takeTokenFromUrl() {
  const url = new URL(window.location.href);
  const t = url.searchParams.get('token');
  if (t === null) return;
  localStorage.setItem(TOKEN_KEY, t);
  url.searchParams.delete('token');
  // Keep the token out of the address bar and the history.
  window.history.replaceState(null, '', url.pathname + url.search + url.hash);
}

function showLogin(message) {
  running = false;
  generation++;
  token = '';
  $('dash').hidden = true;
  $('logout').hidden = true;
  $('login').hidden = false;
  $('status').textContent = message;
  $('token').focus();
}

function start() {
  token = localStorage.getItem(TOKEN_KEY) ?? '';
  if (token === '') {
    showLogin('enter the admin token');
    return;
  }
  $('login').hidden = true;
  $('dash').hidden = false;
  $('logout').hidden = false;
  if (running) return;
  running = true;
  void loop(pollStats, 1000);
  void loop(pollSessions, 2000);
  // Their queue depths cost the store a count per target: as often as /api/stats refreshes its own.
  void loop(pollConnectors, 5000);
}

// ---- API --------------------------------------------------------------------------------

class ApiError extends Error {}

async function api(path, init = {}) {
  const res = await fetch(path, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } });
  if (res.status === 401) {
    localStorage.removeItem(TOKEN_KEY);
    showLogin('the token was refused');
    throw new ApiError('unauthorized');
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(body.message ?? `${res.status} ${res.statusText}`);
  return body;
}

async function loop(fn, ms) {
  const mine = generation;
  while (running && mine === generation) {
    const t0 = Date.now();
    try {
      await fn();
      $('status').textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      if (!running || mine !== generation) return;
      $('status').textContent = `error: ${err.message}`;
    }
    await new Promise((r) => setTimeout(r, Math.max(100, ms - (Date.now() - t0))));
  }
}

// ---- rendering helpers ------------------------------------------------------------------

function el(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = String(text);
  if (className !== undefined) e.className = className;
  return e;
}

function row(cells, numeric = []) {
  const tr = document.createElement('tr');
  cells.forEach((c, i) => {
    const td = c instanceof Node ? el('td') : el('td', c, numeric.includes(i) ? 'num' : undefined);
    if (c instanceof Node) td.append(c);
    tr.append(td);
  });
  return tr;
}

function fill(tbody, rows, empty) {
  if (rows.length === 0) {
    const td = el('td', empty, 'muted');
    td.colSpan = tbody.closest('table').querySelectorAll('th').length;
    const tr = document.createElement('tr');
    tr.append(td);
    tbody.replaceChildren(tr);
  } else {
    tbody.replaceChildren(...rows);
  }
}

const fmtRate = (v) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
const fmtCount = (n) => Number(n).toLocaleString('en-US');
const fmtShare = (part, whole) => (whole > 0 ? `${((100 * part) / whole).toFixed(1)} %` : '–');
const fmtSeconds = (s) => (s % 86400 === 0 ? `${s / 86400} d` : s % 3600 === 0 ? `${s / 3600} h` : `${s} s`);
const fmtTime = (ms) => (ms === null || ms === undefined || ms === 0 ? '–' : new Date(ms).toLocaleString());
const sum = (obj, keys) => keys.reduce((n, k) => n + (obj[k]?.total ?? 0), 0);
/** Every response PDU counted, in and out: what the error share is a share of. */
const responses = (pdus) =>
  [pdus.in, pdus.out].reduce((n, dir) => n + Object.entries(dir).reduce((m, [c, v]) => m + (c.endsWith('_resp') ? v.total : 0), 0), 0);

// ---- stats, chart -----------------------------------------------------------------------

async function pollStats() {
  const s = await api('/api/stats');
  $('node').textContent = s.nodeId;
  // In: requests that submit messages. Out: deliveries to any target (ESME binds, the network,
  // webhooks, an upstream SMSC), as the scheduler counts them.
  // Errors: error responses (either way) and deliveries that failed for good or expired,
  // as a share of every response and delivery outcome.
  const errorsByStatus = {
    ...s.errorsByStatus,
    'delivery failed': s.scheduler.failed,
    'delivery expired': s.scheduler.expired,
    'delivery retried': s.scheduler.retried,
  };
  const now = { at: s.at, in: sum(s.pdus.in, IN_COMMANDS), out: s.scheduler.delivered, errorsByStatus };
  now.err = Object.values(s.errorsByStatus).reduce((a, b) => a + b, 0) + s.scheduler.failed + s.scheduler.expired;
  now.outcomes = responses(s.pdus) + s.scheduler.delivered + s.scheduler.failed + s.scheduler.expired;
  $('total-in').textContent = fmtCount(now.in);
  $('total-out').textContent = fmtCount(now.out);
  $('delivered').textContent = fmtCount(s.messages.byState.DELIVERED ?? 0);
  $('bind-types').textContent = Object.entries(s.sessions.byBindType)
    .filter(([, n]) => n > 0)
    .map(([type, n]) => `${n} ${type}`)
    .join(', ') || 'none bound';
  const dt = previous === undefined ? 0 : (now.at - previous.at) / 1000;
  if (dt > 0) {
    const point = {
      in: Math.max(0, now.in - previous.in) / dt,
      out: Math.max(0, now.out - previous.out) / dt,
      err: Math.max(0, now.err - previous.err) / dt,
    };
    history.push(point);
    if (history.length > HISTORY) history.shift();
    $('rate-in').textContent = fmtRate(point.in);
    $('rate-out').textContent = fmtRate(point.out);
    $('rate-err').textContent = fmtRate(point.err);
    $('err-share').textContent = fmtShare(Math.max(0, now.err - previous.err), Math.max(0, now.outcomes - previous.outcomes));
  }

  const depth = Object.entries(s.messages.queueDepth).sort((a, b) => b[1] - a[1]);
  $('queued').textContent = depth.reduce((n, [, v]) => n + v, 0);
  $('binds').textContent = s.sessions.bound;
  fill($('queue'), depth.map(([target, n]) => row([target, n], [1])), 'nothing pending');
  const states = Object.entries(s.messages.byState).filter(([, n]) => n > 0);
  fill($('states'), states.map(([state, n]) => row([state, n], [1])), 'no messages');
  const errors = Object.entries(errorsByStatus)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
  fill(
    $('errors'),
    errors.map(([name, total]) => {
      const before = previous?.errorsByStatus[name] ?? total;
      return row([name, dt > 0 ? fmtRate((total - before) / dt) : '–', total], [1, 2]);
    }),
    'no error responses, no failed deliveries',
  );
  previous = now;
  drawChart();
}

function drawChart() {
  const canvas = $('chart');
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * dpr)) canvas.width = Math.round(width * dpr);
  if (canvas.height !== Math.round(height * dpr)) canvas.height = Math.round(height * dpr);
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, width, height);

  const left = 44;
  const bottom = height - 18;
  const top = 8;
  const max = niceMax(Math.max(1, ...history.flatMap((p) => [p.in, p.out, p.err])));
  const x = (i) => left + ((width - left - 8) * (i + HISTORY - history.length)) / (HISTORY - 1);
  const y = (v) => bottom - ((bottom - top) * v) / max;

  g.font = '11px system-ui, sans-serif';
  g.fillStyle = COLORS.text;
  g.strokeStyle = COLORS.grid;
  g.lineWidth = 1;
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    g.beginPath();
    g.moveTo(left, Math.round(y(v)) + 0.5);
    g.lineTo(width - 8, Math.round(y(v)) + 0.5);
    g.stroke();
    g.fillText(fmtRate(v), left - 6, y(v));
  }
  g.textBaseline = 'top';
  g.textAlign = 'left';
  g.fillText(`-${HISTORY} s`, left, bottom + 4);
  g.textAlign = 'right';
  g.fillText('now', width - 8, bottom + 4);

  for (const key of ['err', 'out', 'in']) {
    if (history.length < 2) break;
    g.strokeStyle = COLORS[key];
    g.lineWidth = 2;
    g.beginPath();
    history.forEach((p, i) => {
      if (i === 0) g.moveTo(x(i), y(p[key]));
      else g.lineTo(x(i), y(p[key]));
    });
    g.stroke();
  }
}

/** 1, 2, 5 × 10^n at or above v. */
function niceMax(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

// ---- sessions ---------------------------------------------------------------------------

async function pollSessions() {
  const { sessions } = await api('/api/sessions');
  boundByAccount = new Map();
  for (const s of sessions) if (s.systemId !== null) boundByAccount.set(s.systemId, (boundByAccount.get(s.systemId) ?? 0) + 1);
  fillBindSummary(sessions);
  // Accounts and routes change rarely: every fifth round (ten seconds).
  if (sessionPolls++ % 5 === 0) await pollConfig();
  sessions.sort((a, b) => String(a.systemId).localeCompare(String(b.systemId)) || a.id.localeCompare(b.id));
  fill(
    $('sessions'),
    sessions.map((s) => {
      const meter = el('meter');
      meter.min = 0;
      meter.max = 1;
      meter.high = 0.8;
      meter.value = s.windowUse;
      meter.title = `${s.outstanding} of ${s.windowSize}`;
      const kick = el('button', 'unbind', 'link');
      kick.type = 'button';
      kick.addEventListener('click', () => kickSession(s));
      const remote = s.remoteAddress === null ? '–' : `${s.remoteAddress}:${s.remotePort}`;
      return row([s.systemId ?? '(binding)', s.bindType ?? s.state, remote, meter, s.outstanding, s.inflight, s.id, kick], [4, 5]);
    }),
    'no sessions',
  );
}

/** Sessions per account and bind type. */
function fillBindSummary(sessions) {
  const byAccount = new Map();
  for (const s of sessions) {
    const key = s.systemId ?? '(binding)';
    const r = byAccount.get(key) ?? { transmitter: 0, receiver: 0, transceiver: 0, binding: 0, outstanding: 0 };
    if (s.bindType === null || r[s.bindType] === undefined) r.binding++;
    else r[s.bindType]++;
    r.outstanding += s.outstanding;
    byAccount.set(key, r);
  }
  const rows = [...byAccount].sort(([a], [b]) => a.localeCompare(b));
  fill(
    $('bind-summary'),
    rows.map(([account, r]) => row([account, r.transmitter, r.receiver, r.transceiver, r.binding, r.outstanding], [1, 2, 3, 4, 5])),
    'no sessions',
  );
}

async function kickSession(s) {
  if (!window.confirm(`Unbind session ${s.id} of ${s.systemId ?? 'an unbound peer'}?`)) return;
  try {
    await api(`/api/sessions/${encodeURIComponent(s.id)}`, { method: 'DELETE' });
    await pollSessions();
  } catch (err) {
    window.alert(`could not close the session: ${err.message}`);
  }
}

// ---- messages ---------------------------------------------------------------------------

async function search(event) {
  event.preventDefault();
  const id = $('q-id').value.trim();
  $('detail').hidden = true;
  $('search-msg').textContent = 'searching…';
  try {
    let messages;
    if (id !== '') {
      const found = await api(`/api/messages/${encodeURIComponent(id)}`).catch((err) => {
        if (err instanceof ApiError && /no message/.test(err.message)) return undefined;
        throw err;
      });
      messages = found === undefined ? [] : [found.message];
      if (found !== undefined) showDetail(found);
    } else {
      const q = new URLSearchParams({ limit: '100' });
      for (const [key, input] of [['addr', 'q-addr'], ['account', 'q-account'], ['state', 'q-state']]) {
        const v = $(input).value.trim();
        if (v !== '') q.set(key, v);
      }
      ({ messages } = await api(`/api/messages?${q}`));
    }
    $('search-msg').textContent = messages.length === 0 ? 'no messages found' : `${messages.length} message(s), newest first`;
    fill(
      $('results'),
      messages.map((m) => {
        const tr = row([fmtTime(m.submittedAt), m.id, m.account, m.source.addr, m.destination.addr, m.state, m.attempts], [6]);
        tr.className = 'clickable';
        tr.addEventListener('click', () => openMessage(m.id));
        return tr;
      }),
      '',
    );
  } catch (err) {
    $('search-msg').textContent = `error: ${err.message}`;
  }
}

async function openMessage(id) {
  try {
    showDetail(await api(`/api/messages/${encodeURIComponent(id)}`));
  } catch (err) {
    $('search-msg').textContent = `error: ${err.message}`;
  }
}

function showDetail({ message: m, events }) {
  $('d-id').textContent = m.id;
  const fields = [
    ['state', m.errorCode ? `${m.state} (error ${m.errorCode})` : m.state],
    ['direction', m.direction],
    ['account → target', `${m.account} → ${m.target}`],
    ['from', `${m.source.addr} (ton ${m.source.ton}, npi ${m.source.npi})`],
    ['to', `${m.destination.addr} (ton ${m.destination.ton}, npi ${m.destination.npi})`],
    ['data_coding / esm_class', `${m.dataCoding} / ${m.esmClass}`],
    ['registered_delivery', m.registeredDelivery],
    ['attempts', m.attempts],
    ['submitted', fmtTime(m.submittedAt)],
    ['scheduled', fmtTime(m.scheduleAt)],
    ['expires', fmtTime(m.expiresAt)],
    ['final', fmtTime(m.finalAt)],
    ['length', `${m.payloadLength} octets${m.payloadInTlv ? ' (message_payload)' : ''}`],
  ];
  if (m.receiptFor) fields.push(['receipt for', m.receiptFor]);
  if (m.batchId) fields.push(['batch', m.batchId]);
  if (m.text !== undefined) fields.push(['text', m.text]);
  $('d-fields').replaceChildren(...fields.flatMap(([k, v]) => [el('dt', k), el('dd', v)]));
  const after = (at) => (m.submittedAt > 0 && at >= m.submittedAt ? `+${((at - m.submittedAt) / 1000).toFixed(3)} s` : '');
  fill($('d-events'), events.map((e) => row([fmtTime(e.at), after(e.at), e.kind, e.detail], [1])), 'no events');
  $('detail').hidden = false;
}

// ---- accounts and routes ----------------------------------------------------------------

let boundByAccount = new Map();

async function pollConfig() {
  const [{ accounts }, routes] = await Promise.all([api('/api/accounts'), api('/api/routing').catch(() => undefined)]);
  $('account-names').replaceChildren(...accounts.map((a) => el('option', a.systemId)));
  fill(
    $('accounts'),
    accounts.map((a) => {
      const tr = row(
        [
          a.systemId,
          a.addresses.length === 0 ? 'any' : a.addresses.join(', '),
          boundByAccount.get(a.systemId) ?? 0,
          a.maxBinds,
          a.windowSize,
          `${fmtSeconds(a.defaultValiditySeconds)} / ${fmtSeconds(a.maxValiditySeconds)}`,
          a.credential + (a.allowedIps ? `, from ${a.allowedIps.join(', ')}` : ''),
          a.disabled ? 'disabled' : a.outbind ? `outbind ${a.outbind.host}:${a.outbind.port}${a.outbind.tls ? ' (TLS)' : ''}` : 'enabled',
        ],
        [2, 3, 4],
      );
      if (a.disabled) tr.className = 'disabled';
      return tr;
    }),
    'no accounts',
  );
  if (routes === undefined) {
    $('no-route').textContent = 'the routes are not available from this server';
    return;
  }
  $('no-route').textContent = `${routes.noRouteStatusName} (0x${routes.noRouteStatus.toString(16).padStart(8, '0')})`;
  fill(
    $('routes-mt'),
    routes.mt.map((r) => {
      const destination = [...r.prefix.map((p) => (p === '' ? 'any' : `${p}…`)), ...(r.regex === null ? [] : [`/${r.regex}/`])];
      const conditions = [
        r.account.length > 0 ? `account ${r.account.join('|')}` : '',
        r.source.length > 0 ? `source ${r.source.join('|')}` : '',
        r.serviceType.length > 0 ? `service_type ${r.serviceType.map((t) => t || '""').join('|')}` : '',
        r.dataCoding.length > 0 ? `data_coding ${r.dataCoding.join('|')}` : '',
      ].filter((c) => c !== '');
      return row([r.position + 1, destination.join(', ') || 'any', conditions.join('; ') || '–', r.connector, r.failover.join(' → ') || '–'], [0]);
    }),
    'no MT rules: only addresses accounts own are reachable',
  );
  fill(
    $('routes-mo'),
    routes.mo.map((r) => row([r.position + 1, r.kind === 'match' ? r.pattern : r.kind === 'prefix' ? `${r.pattern}…` : `/${r.pattern}/`, r.account], [0])),
    'no MO rules: MO goes to the account owning the destination',
  );
  configuredConnectors = routes.connectors;
}

// ---- connectors -------------------------------------------------------------------------

/** Names and types from /api/routing: what the table shows where /api/connectors is not served. */
let configuredConnectors = [];

async function pollConnectors() {
  const live = await api('/api/connectors').then(
    (r) => r.connectors,
    (err) => {
      if (err instanceof ApiError && err.message === 'unauthorized') throw err;
      return undefined;
    },
  );
  const list = live ?? configuredConnectors.map((c) => ({ ...c, state: '–', queueDepth: '–' }));
  fill(
    $('connectors'),
    list.map((c) => {
      const tr = row([c.name, c.type, c.state, c.queueDepth, c.lastError ?? ''], [3]);
      if (c.state === 'disabled') tr.className = 'disabled';
      else if (c.state === 'connecting') tr.className = 'down';
      return tr;
    }),
    'no connectors',
  );
}

// ---- wiring -----------------------------------------------------------------------------

for (const s of STATES) $('q-state').append(el('option', s));
$('login').addEventListener('submit', (event) => {
  event.preventDefault();
  localStorage.setItem(TOKEN_KEY, $('token').value.trim());
  $('token').value = '';
  start();
});
$('logout').addEventListener('click', () => {
  localStorage.removeItem(TOKEN_KEY);
  showLogin('token forgotten');
});
$('search').addEventListener('submit', search);
$('refresh-config').addEventListener('click', () => {
  pollConfig().catch((err) => {
    $('status').textContent = `error: ${err.message}`;
  });
});
window.addEventListener('resize', drawChart);
takeTokenFromUrl();
start();
