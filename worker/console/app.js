// stripe-bridge console: reads the admin JSON routes (README "The operator console") and renders
// them with plain DOM calls. Data is only ever inserted as text, never as HTML.
'use strict';

const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? '';
const content = document.getElementById('content');
const statusLine = document.getElementById('status');
const params = new URLSearchParams(location.search);

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function say(text) {
  statusLine.textContent = text;
}

function show(...nodes) {
  content.replaceChildren(...nodes);
}

async function getJSON(url) {
  const res = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (res.status === 401) {
    location.assign('/console/login');
    throw new Error('signed out');
  }
  const body = await res.json().catch(() => ({}));
  return { status: res.status, body };
}

async function postJSON(url) {
  const res = await fetch(url, { method: 'POST', credentials: 'same-origin', headers: { 'x-csrf-token': csrf } });
  const body = await res.json().catch(() => ({}));
  return { status: res.status, body };
}

const when = (ms) => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : '—');
const whenSecs = (s) => (s ? when(s * 1000) : '—');
const money = (amount, currency) => (amount === null || amount === undefined ? '—' : `${amount} ${currency ?? ''}`.trim());

/** The book (account, mode) of the page, for the admin routes' query. */
function bookQuery(p = params) {
  const q = new URLSearchParams();
  if (p.get('account')) q.set('account', p.get('account'));
  if (p.get('mode')) q.set('mode', p.get('mode'));
  return q;
}

function withQuery(path, q) {
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

function table(caption, heads, rows, numeric = []) {
  return h('table', {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, heads.map((t, i) => h('th', { scope: 'col', class: numeric.includes(i) ? 'num' : null }, t)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, c) : h('td', { class: numeric.includes(i) ? 'num' : null }, c)))))));
}

function bookFields() {
  return [
    h('label', {}, 'Account', h('input', { name: 'account', value: params.get('account') ?? '', placeholder: 'platform or acct_…', size: 16 })),
    h('label', {}, 'Mode', h('select', { name: 'mode' },
      ['', 'test', 'live'].map((m) => h('option', { value: m, selected: params.get('mode') === m || null }, m || 'default')))),
  ];
}

// --- overview ---------------------------------------------------------------------------

const RECEIVED = [
  ['accepted', 'Accepted'], ['duplicate', 'Duplicate'], ['ignored', 'Ignored'],
  ['unreadable', 'Unreadable'], ['refused', 'Refused (4xx)'], ['failed', 'Failed (5xx)'],
];
const DELIVERIES = [
  ['delivered', 'Delivered'], ['retried', 'Failed, retrying'], ['dead_lettered', 'Dead-lettered'], ['replayed', 'Replayed'],
];

/** Small multiples: one labelled row per series, one bar per hour, the total in figures. */
function hourlyChart(title, hours, group, series) {
  const max = Math.max(1, ...hours.flatMap((b) => series.map(([k]) => b[group][k] || 0)));
  const width = hours.length * 10;
  const rows = series.map(([key, label]) => {
    const total = hours.reduce((n, b) => n + (b[group][key] || 0), 0);
    const bars = hours.map((b, i) => {
      const n = b[group][key] || 0;
      const height = n ? Math.max(2, Math.round((n / max) * 32)) : 0;
      return svg('rect', { x: i * 10 + 1, y: 34 - height, width: 8, height }, svg('title', {}, `${when(b.hour)}: ${n}`));
    });
    return h('div', { class: 'row' },
      h('span', { class: 'label' }, label),
      svg('svg', { viewBox: `0 0 ${width} 34`, preserveAspectRatio: 'none', role: 'img', 'aria-label': `${label}: ${total} in ${hours.length} hours, at most ${Math.max(0, ...hours.map((b) => b[group][key] || 0))} in one hour` }, ...bars),
      h('span', { class: 'total' }, String(total)));
  });
  const first = hours[0]?.hour;
  const last = hours[hours.length - 1]?.hour;
  return h('section', { 'aria-labelledby': `chart-${group}` },
    h('h2', { id: `chart-${group}` }, title),
    h('div', { class: 'chart' }, rows,
      h('div', { class: 'axis', 'aria-hidden': 'true' }, h('span', {}, ''), h('span', {}, h('span', {}, when(first)), h('span', {}, when(last))), h('span', {}, 'total'))));
}

function hoursTable(hours) {
  const busy = hours.filter((b) => RECEIVED.some(([k]) => b.received[k]) || DELIVERIES.some(([k]) => b.deliveries[k]));
  if (!busy.length) return h('p', {}, 'Nothing was received or delivered in this window.');
  const heads = ['Hour (UTC)', ...RECEIVED.map(([, l]) => l), ...DELIVERIES.map(([, l]) => l)];
  const rows = busy.map((b) => [when(b.hour), ...RECEIVED.map(([k]) => String(b.received[k] || 0)), ...DELIVERIES.map(([k]) => String(b.deliveries[k] || 0))]);
  return table('Hours with activity', heads, rows, heads.map((_, i) => i).slice(1));
}

async function overview() {
  const hours = Number(params.get('hours')) || 24;
  const { status, body } = await getJSON(`/admin/stats?hours=${hours}`);
  if (status !== 200) return show(h('p', { class: 'error' }, `The figures are unavailable (${body.result ?? status}).`));
  const received = RECEIVED.reduce((n, [k]) => n + (body.totals.received[k] || 0), 0);
  const dl = body.dead_letters || {};
  const form = h('form', { class: 'inline', method: 'get', action: '/console/' },
    h('label', {}, 'Window', h('select', { name: 'hours' },
      [[24, 'last 24 hours'], [72, 'last 3 days'], [168, 'last 7 days']].map(([v, l]) => h('option', { value: v, selected: v === hours || null }, l)))),
    h('button', { type: 'submit' }, 'Show'));
  const maxReceived = Math.max(1, ...RECEIVED.map(([k]) => body.totals.received[k] || 0));
  show(
    form,
    h('div', { class: 'tiles' },
      h('p', { class: 'tile' }, h('span', { class: 'n' }, String(received)), `events received (${hours} h)`),
      h('p', { class: 'tile' }, h('span', { class: 'n', id: 'retry-backlog' }, String(body.retry_backlog)), 'forwards retrying now'),
      h('p', { class: 'tile' }, h('span', { class: 'n', id: 'dead-letter-count' }, `${dl.total ?? '?'}${dl.more ? '+' : ''}`),
        h('a', { href: '/console/dead-letters' }, 'dead letters'), ` (${dl.undelivered ?? 0} undelivered, ${dl.unreadable ?? 0} unreadable)`)),
    h('section', { 'aria-labelledby': 'outcomes' }, h('h2', { id: 'outcomes' }, `Events by outcome, ${hours} h`),
      RECEIVED.map(([k, l]) => {
        const n = body.totals.received[k] || 0;
        const fill = h('div', { class: 'fill' });
        fill.style.width = `${(n / maxReceived) * 100}%`;
        return h('div', { class: 'hbar' }, h('span', {}, l), h('div', { class: 'track', 'aria-hidden': 'true' }, fill), h('span', { class: 'total' }, String(n)));
      })),
    hourlyChart('Events received per hour, by outcome', body.hours, 'received', RECEIVED),
    hourlyChart('Delivery attempts per hour, by result', body.hours, 'deliveries', DELIVERIES),
    h('h2', {}, 'The figures'),
    hoursTable(body.hours),
  );
}

// --- orders -----------------------------------------------------------------------------

async function orders() {
  const form = h('form', { class: 'inline', method: 'get', action: '/console/orders', role: 'search' },
    h('label', {}, 'Order, PaymentIntent, charge or customer', h('input', { name: 'q', id: 'q', value: params.get('q') ?? '', size: 32 })),
    bookFields(),
    h('button', { type: 'submit' }, 'Search'));
  const ref = params.get('ref');
  if (ref) return show(form, await orderView(ref));
  const q = params.get('q') ?? '';
  const query = bookQuery();
  query.set('q', q);
  const { status, body } = await getJSON(withQuery('/admin/orders', query));
  if (status !== 200) return show(form, h('p', { class: 'error' }, `Search failed (${body.result ?? status}).`));
  if (!body.orders.length) return show(form, h('p', {}, q ? `No order matches “${q}” in book ${body.book}.` : `Book ${body.book} has no orders yet.`));
  const rows = body.orders.map((o) => {
    const link = bookQuery();
    link.set('ref', o.order_ref);
    return [h('a', { href: withQuery('/console/orders', link) }, o.order_ref), o.status ?? '—', money(o.amount_paid, o.currency), o.customer_id ?? '—', whenSecs(o.last_event_at), o.matched.replaceAll('_', ' ')];
  });
  show(form, table(`${body.orders.length} order(s) in book ${body.book}`, ['Order', 'Status', 'Paid', 'Customer', 'Last event', 'Matched by'], rows));
}

function linkedList(items) {
  if (!items.length) return '—';
  return h('ul', {}, items.map((l) => h('li', {}, `${l.id}: ${l.status ?? '?'} ${money(l.amount, l.currency)}${l.reason ? ` (${l.reason})` : ''}`)));
}

function timelineItem(e) {
  if (e.kind === 'event') {
    return h('li', { class: 'event' },
      h('span', { class: 'kind' }, 'Stripe event'), h('strong', {}, e.event_type), ' → ', h('span', { class: 'badge' }, e.status ?? '?'),
      e.amount ? ` ${money(e.amount, e.currency)}` : '',
      h('br'), h('span', { class: 'muted' }, `${whenSecs(e.created)} · ${e.id}${e.object_id ? ` · ${e.object_id}` : ''}`));
  }
  const d = e.delivery;
  const delivery = d ? `${d.state.replaceAll('_', ' ')}${d.at_ms ? ` ${when(d.at_ms)}` : ''}${d.last_error ? ` (last error: ${d.last_error})` : ''}` : 'not known';
  return h('li', { class: 'forward' },
    h('span', { class: 'kind' }, 'Forward'), e.sequence ? `sequence ${e.sequence}, ` : `${e.event_type}, `, 'order ', h('span', { class: 'badge' }, e.status ?? '?'),
    h('br'), h('span', { class: 'muted' }, `queued ${when(e.at_ms)} · delivery: ${delivery} · ${e.id}`));
}

async function orderView(ref) {
  const { status, body } = await getJSON(withQuery(`/admin/orders/${encodeURIComponent(ref)}`, bookQuery()));
  if (status === 404) return h('p', {}, `No order “${ref}” in this book.`);
  if (status !== 200) return h('p', { class: 'error' }, `The order is unavailable (${body.result ?? status}).`);
  const s = body.order.state;
  const facts = [
    ['Status', h('span', { class: 'badge', id: 'order-status' }, s.status ?? '—')],
    ['Paid', money(s.amount_paid, s.currency)], ['Refunded', money(s.amount_refunded, s.currency)], ['Requested', money(s.amount_requested, s.currency)],
    ['Customer', s.customer_id ?? '—'], ['Sequence', String(body.order.sequence)], ['Book', body.book],
    ['Flags', [s.overpaid && 'overpaid', s.fraud_warning && 'fraud warning', s.review_open && 'review open', ...(s.conflicts || [])].filter(Boolean).join(', ') || 'none'],
  ];
  const attempts = (body.attempts || []).map((a) => [a.id, a.status ?? '—', money(a.amount, a.currency), money(a.captured, a.currency), money(a.refunded, a.currency), linkedList(a.refunds), linkedList(a.disputes), a.failure ?? '']);
  return h('section', { 'aria-labelledby': 'order-title' },
    h('h2', { id: 'order-title' }, `Order ${body.order.order_ref}`),
    table('The order', ['Field', 'Value'], facts),
    table('Payment attempts (newest first)', ['Attempt', 'Status', 'Asked', 'Captured', 'Refunded', 'Refunds', 'Disputes', 'Failure'], attempts),
    h('h2', {}, 'Timeline (oldest first)'),
    body.timeline.length ? h('ol', { class: 'timeline' }, body.timeline.map(timelineItem)) : h('p', {}, 'No timeline kept for this order (it predates the console).'),
  );
}

// --- dead letters -----------------------------------------------------------------------

async function deadLetters(cursor) {
  const { status, body } = await getJSON(cursor ? `/dead-letters?cursor=${encodeURIComponent(cursor)}` : '/dead-letters');
  if (status !== 200) return show(h('p', { class: 'error' }, `Dead letters are unavailable (${body.result ?? status}).`));
  const letters = body.dead_letters;
  const kind = h('select', { id: 'kind' }, [['', 'all kinds'], ['undelivered', 'undelivered'], ['unreadable', 'unreadable']].map(([v, l]) => h('option', { value: v }, l)));
  const text = h('input', { id: 'filter', type: 'search', size: 24 });
  const tbody = h('tbody');
  const render = () => {
    const k = kind.value;
    const t = text.value.trim().toLowerCase();
    const shown = letters.filter((l) => (!k || l.kind === k) && (!t || [l.event_id, l.event_type, l.last_error, l.reason].some((v) => v && v.toLowerCase().includes(t))));
    tbody.replaceChildren(...shown.map((l) => h('tr', {},
      h('td', {}, l.kind === 'undelivered' ? h('input', { type: 'checkbox', name: 'pick', value: l.event_id, 'aria-label': `Select ${l.event_id}` }) : ''),
      h('th', { scope: 'row' }, l.event_id),
      h('td', {}, l.kind), h('td', {}, l.event_type ?? '—'), h('td', {}, when(l.dead_at_ms)),
      h('td', {}, h('details', {}, h('summary', {}, l.kind === 'unreadable' ? 'Reason' : 'Last error'), h('p', {}, l.last_error ?? l.reason ?? 'none recorded'))),
      h('td', {}, l.kind === 'undelivered' ? h('button', { type: 'button', onclick: () => replay([l.event_id]) }, 'Replay') : h('span', { class: 'muted' }, 'not replayable')))));
    say(`${shown.length} of ${letters.length} dead letter(s) shown.`);
  };
  kind.addEventListener('change', render);
  text.addEventListener('input', render);
  const replay = async (ids) => {
    if (!ids.length) return say('Select at least one undelivered letter.');
    let ok = 0;
    for (const id of ids) if ((await postJSON(`/dead-letters/${encodeURIComponent(id)}/replay`)).status === 202) ok++;
    await deadLetters();
    say(`Replayed ${ok} of ${ids.length}: queued again for delivery.`);
  };
  const picked = () => [...tbody.querySelectorAll('input[name=pick]:checked')].map((c) => c.value);
  show(
    h('form', { class: 'inline', role: 'search', onsubmit: (e) => e.preventDefault() },
      h('label', { for: 'kind' }, 'Kind', kind), h('label', { for: 'filter' }, 'Event id, type or error contains', text)),
    h('p', {},
      h('button', { type: 'button', onclick: () => replay(picked()) }, 'Replay selected'), ' ',
      h('button', { type: 'button', onclick: async () => {
        const r = await postJSON('/dead-letters/replay');
        await deadLetters();
        say(r.status === 202 ? `Replayed ${r.body.replayed} undelivered letter(s); ${r.body.skipped} skipped.` : `Replay failed (${r.body.result ?? r.status}).`);
      } }, 'Replay all undelivered')),
    h('table', {}, h('caption', {}, 'Dead letters (kept 30 days)'),
      h('thead', {}, h('tr', {}, ['', 'Event or forward id', 'Kind', 'Type', 'Died', 'Error', 'Action'].map((t) => h('th', { scope: 'col' }, t)))), tbody),
    body.cursor ? h('button', { type: 'button', onclick: () => deadLetters(body.cursor) }, 'Next page') : '',
  );
  render();
}

// --- payouts ----------------------------------------------------------------------------

function bookToQuery(book) {
  const q = new URLSearchParams();
  const i = (book ?? '').lastIndexOf(':');
  if (i > 0) {
    q.set('account', book.slice(0, i));
    q.set('mode', book.slice(i + 1));
  }
  return q;
}

async function payouts() {
  const form = h('form', { class: 'inline', method: 'get', action: '/console/payouts' },
    h('label', {}, 'Payout id', h('input', { name: 'id', value: params.get('id') ?? '', placeholder: 'po_…', size: 28 })),
    bookFields(), h('button', { type: 'submit' }, 'Open'));
  const id = params.get('id');
  if (id) return show(form, await payoutView(id));
  const { status, body } = await getJSON('/admin/payouts');
  if (status !== 200) return show(form, h('p', { class: 'error' }, `The payout list is unavailable (${body.result ?? status}).`));
  if (!body.payouts.length) return show(form, h('p', {}, 'No reconciliation has started yet.'));
  const rows = body.payouts.map((p) => {
    const q = bookToQuery(p.book);
    q.set('id', p.id);
    return [h('a', { href: withQuery('/console/payouts', q) }, p.id), p.book, when(p.at_ms)];
  });
  show(form, table('Payouts reconciled lately', ['Payout', 'Book', 'Started'], rows));
}

async function payoutView(id) {
  const q = bookQuery();
  const { status, body } = await getJSON(withQuery(`/payouts/${encodeURIComponent(id)}`, q));
  if (status === 404) return h('p', {}, `No reconciliation of ${id} in this book.`);
  if (status !== 200) return h('p', { class: 'error' }, `The payout is unavailable (${body.result ?? status}).`);
  const r = body.reconciliation;
  const head = [h('h2', { id: 'payout-title' }, `Payout ${id}`), h('p', {}, 'Status: ', h('span', { class: 'badge', id: 'payout-status' }, body.status), body.error ? ` — ${JSON.stringify(body.error)}` : '')];
  if (!r) return h('section', {}, head, h('p', {}, `Read so far: ${body.pages ?? 0} page(s).`));
  const c = r.currency;
  q.set('format', 'csv');
  const verdict = r.balanced ? 'Balanced: the lines add up to the payout exactly.' : `Not balanced: ${money(r.difference, c)} not accounted for${r.likely_cause ? ` (likely: ${r.likely_cause})` : ''}.`;
  const totals = Object.entries(r.totals).map(([k, t]) => [k, String(t.count), money(t.gross, c), money(t.fee, c), money(t.net, c)]);
  const orders = Object.entries(r.orders).map(([k, o]) => [k, money(o.gross, c), money(o.fee, c), money(o.refunds, c), money(o.disputes, c), money(o.net, c)]);
  return h('section', { 'aria-labelledby': 'payout-title' }, head,
    h('p', { class: 'tile', id: 'payout-verdict' }, h('strong', {}, r.balanced ? 'BALANCED ✓ ' : 'NOT BALANCED ✗ '), verdict),
    table('The payout', ['Figure', 'Amount'], [['Payout amount', money(r.payout_amount, c)], ['Sum of the lines (net)', money(r.net, c)], ['Difference', money(r.difference, c)], ['Lines', String(r.lines.length)]], [1]),
    h('p', {}, h('a', { href: withQuery(`/payouts/${encodeURIComponent(id)}`, q), download: `${id}.csv`, id: 'csv-link' }, `Download the ${r.lines.length} lines as CSV`)),
    table('By category', ['Category', 'Count', 'Gross', 'Fees', 'Net'], totals, [1, 2, 3, 4]),
    table('By order', ['Order', 'Gross', 'Fees', 'Refunds', 'Disputes', 'Net'], orders, [1, 2, 3, 4, 5]),
    r.warnings.length ? h('section', {}, h('h2', {}, 'Warnings'), h('ul', {}, r.warnings.map((w) => h('li', {}, w)))) : '');
}

// --- configuration ----------------------------------------------------------------------

async function config() {
  const [health, cfg] = await Promise.all([getJSON('/healthz?deep=1'), getJSON('/admin/config')]);
  const checks = Object.entries(health.body.checks ?? {}).map(([k, v]) => [k, v === 'ok' ? 'OK' : 'PROBLEM', v === 'ok' ? '' : String(v)]);
  const healthy = health.status === 200;
  const c = cfg.body;
  show(
    h('p', { class: 'tile', id: 'health' }, h('strong', {}, healthy ? 'HEALTHY ✓' : 'UNHEALTHY ✗'), healthy ? ' Every setting and binding checks out.' : ' See the problems below; the log names the setting.'),
    table('What GET /healthz?deep=1 checks', ['Check', 'Result', 'Problem'], [...checks, ['console_stats', c.console_stats === 'ok' ? 'OK' : 'PROBLEM', c.console_stats === 'ok' ? '' : String(c.console_stats)]]),
    table('Secrets (only whether they are set; values are never shown)', ['Secret', 'Set?'],
      Object.entries(c.secrets ?? {}).map(([k, v]) => [k, v ? (k === 'STRIPE_WEBHOOK_SECRET' ? `set (${c.webhook_secret_count})` : 'set') : 'not set'])),
    table('Settings', ['Name', 'Value'], Object.entries(c.settings ?? {}).map(([k, v]) => [k, v ?? '(default)'])),
  );
}

const pages = { overview, orders, 'dead-letters': () => deadLetters(), payouts, config };
const page = pages[document.body.dataset.page];
if (page) {
  page().catch((e) => {
    if (e.message !== 'signed out') show(h('p', { class: 'error' }, `Something went wrong: ${e.message}`));
  });
}
