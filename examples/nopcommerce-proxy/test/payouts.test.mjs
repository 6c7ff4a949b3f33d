// The proxy's payout forwards (the Worker's TARGET_PROFILE=nopcommerce) against a real
// PostgreSQL server (scripts/with-postgres.sh sets DATABASE_URL): `payout.mapping` bodies,
// inline or in chunks of text delivered out of order, more than once and at the same time,
// write one "OrderNote" per payout and order, exactly once; unknown orders are skipped and
// reported; `payout.reconciliation` parts are acknowledged; bad signatures and malformed
// messages are refused and write nothing. The bodies are built here, independently of the
// Worker, as it documents them (src/reconcile/job.rs mapping_parts, src/mapping/payout.rs
// nopcommerce_notes_for).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { normalizeEvent, signStandardWebhook } from 'stripe-bridge';
import { mergeOrderState } from 'stripe-bridge/targets';
import { MAX_BODY_BYTES, createProxy } from '../proxy.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const SECRET = 'whsec_bm9wY29tbWVyY2UtcHJveHktdGVzdC1zZWNyZXQ=';
/** The Worker's inline limit (MAPPING_CHUNK_BYTES): larger mappings come as chunks of text. */
const CHUNK_BYTES = 96_000;

assert.ok(process.env.DATABASE_URL, 'run through scripts/with-postgres.sh (it starts PostgreSQL and sets DATABASE_URL)');

let admin;
let pool;
let server;
let url;
const proxyLog = [];
const database = `nop_proxy_payouts_${process.pid}`;

before(async () => {
  admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const dbUrl = new URL(process.env.DATABASE_URL);
  dbUrl.pathname = `/${database}`;
  pool = new pg.Pool({ connectionString: dbUrl.toString(), max: 8 });
  const schema = readFileSync(join(here, '../schema.sql'), 'utf8');
  await pool.query(schema);
  // Idempotent, with the payout tables too.
  await pool.query(schema);
  server = createProxy({ pool, secret: SECRET, storeCurrency: 'USD', log: (e) => proxyLog.push(e) });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${server.address().port}/`;
});

after(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await pool?.end();
  await admin?.query(`DROP DATABASE IF EXISTS ${database}`);
  await admin?.end();
});

/** Orders `from`..`to` as checkout leaves them; CustomOrderNumber from `number(id)` (default NOP-<id>). */
async function createOrders(from, to = from, { number = (id) => `NOP-${id}`, guid = () => null } = {}) {
  const ids = [];
  for (let id = from; id <= to; id++) ids.push(id);
  await pool.query(
    `INSERT INTO "Order" ("Id", "OrderGuid", "StoreId", "CustomerId", "OrderStatusId", "ShippingStatusId", "PaymentStatusId",
       "PaymentMethodSystemName", "CustomerCurrencyCode", "CurrencyRate", "OrderTotal", "RefundedAmount", "Deleted", "CreatedOnUtc", "CustomOrderNumber")
     SELECT id, COALESCE(g::uuid, gen_random_uuid()), 1, 1, 20, 20, 30, 'Payments.StripeBridge', 'USD', 1, 100, 0, false, now() at time zone 'utc', n
     FROM unnest($1::int[], $2::text[], $3::text[]) AS v(id, n, g)`,
    [ids, ids.map(number), ids.map(guid)],
  );
}

/** An order's notes, oldest first. */
async function notesOf(orderId) {
  const { rows } = await pool.query(
    `SELECT "Note", "DisplayToCustomer", "DownloadId", "CreatedOnUtc" IS NOT NULL AS "Dated" FROM "OrderNote" WHERE "OrderId" = $1 ORDER BY "Id"`,
    [orderId],
  );
  return rows;
}

async function count(sql, params = []) {
  return (await pool.query(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0].n;
}

/** A note as nopcommerce_notes_for words it. */
function noteText(payoutId, arrival, { gross = '100.00', refunds = null, fee = '3.20', net = '96.80', currency = 'USD' } = {}) {
  const parts = [`gross ${gross} ${currency}`, ...(refunds ? [`refunds ${refunds} ${currency}`] : []), `fee ${fee} ${currency}`, `net ${net} ${currency}`];
  return `Stripe payout ${payoutId} (arrives ${arrival}): ${parts.join(', ')}`;
}

/** The nopcommerce profile's mapping of a payout: one note per order reference. */
function nopMapping(payoutId, refs, { arrival = '2023-11-16', text = (ref) => noteText(payoutId, arrival) } = {}) {
  return {
    profile: 'nopcommerce',
    payout_id: payoutId,
    arrival_date: arrival,
    notes: refs.map((ref) => ({ order_id: ref, order_note: text(ref), display_to_customer: false })),
  };
}

/** `text` in pieces of at most `max` UTF-8 bytes, cut on character boundaries (as the Worker cuts). */
function splitText(text, max = CHUNK_BYTES) {
  const bytes = Buffer.from(text, 'utf8');
  const pieces = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(bytes.length, start + max);
    // Never inside a character: back up over continuation bytes (10xxxxxx).
    while (end < bytes.length && (bytes[end] & 0xc0) === 0x80) end--;
    pieces.push(bytes.subarray(start, end).toString('utf8'));
    start = end;
  }
  return pieces;
}

/** The `payout.mapping` messages of a mapping: one inline, or chunks of its JSON text. */
function mappingMessages(payoutId, mapping, { max = CHUNK_BYTES } = {}) {
  const text = JSON.stringify(mapping);
  if (Buffer.byteLength(text) <= max) return [{ type: 'payout.mapping', payout_id: payoutId, chunk: 1, chunks: 1, mapping }];
  const pieces = splitText(text, max);
  return pieces.map((piece, i) => ({ type: 'payout.mapping', payout_id: payoutId, chunk: i + 1, chunks: pieces.length, text: piece }));
}

/** The webhook id the Worker gives a payout forward. */
function webhookId(body) {
  return body.type === 'payout.mapping' ? `${body.payout_id}.mapping.${body.chunk}` : `${body.payout_id}.${body.part}`;
}

/** POSTs a body as the Worker does (Standard Webhooks, its webhook id). */
async function send(body, { secret = SECRET, id = webhookId(body) } = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const headers = { 'content-type': 'application/json', ...signStandardWebhook({ id, payload: text, secret }) };
  const res = await fetch(url, { method: 'POST', body: text, headers });
  return { status: res.status, ...(await res.json()) };
}

describe('payout forwards (TARGET_PROFILE=nopcommerce)', () => {
  test('an inline mapping writes one note per order, found by Id, CustomOrderNumber or OrderGuid', async () => {
    const guid = '0f8fad5b-d9cb-469f-a165-70867728950e';
    await createOrders(5001, 5003, { guid: (id) => (id === 5003 ? guid : null) });
    const mapping = nopMapping('po_inline_1', ['5001', 'NOP-5002', `{${guid.toUpperCase()}}`], {
      text: () => 'Stripe payout po_inline_1 (arrives 2023-11-16): gross 100.00 USD, refunds -10.00 USD, fee 3.20 USD, net 86.80 USD',
    });
    const [message] = mappingMessages('po_inline_1', mapping);
    assert.ok('mapping' in message);
    const res = await send(message);
    assert.deepEqual(
      [res.status, res.result, res.payout_id, res.chunk, res.chunks, res.notes_added, res.notes_present, res.unknown_orders],
      [200, 'applied', 'po_inline_1', 1, 1, 3, 0, 0],
    );
    for (const id of [5001, 5002, 5003]) {
      assert.deepEqual(await notesOf(id), [
        {
          Note: 'Stripe payout po_inline_1 (arrives 2023-11-16): gross 100.00 USD, refunds -10.00 USD, fee 3.20 USD, net 86.80 USD',
          DisplayToCustomer: false,
          DownloadId: 0,
          Dated: true,
        },
      ]);
    }
    // Each note is claimed for its payout and order, with its id.
    const { rows } = await pool.query(
      `SELECT p."OrderId", n."OrderId" = p."OrderId" AS "Same" FROM "StripeBridgePayoutNote" p JOIN "OrderNote" n ON n."Id" = p."OrderNoteId"
       WHERE p."PayoutId" = 'po_inline_1' ORDER BY p."OrderId"`,
    );
    assert.deepEqual(rows, [5001, 5002, 5003].map((id) => ({ OrderId: id, Same: true })));
    // Nothing kept for an inline mapping; the order rows are untouched.
    assert.equal(await count(`"StripeBridgePayoutChunk" WHERE "PayoutId" = 'po_inline_1'`), 0);
    assert.equal(await count(`"Order" WHERE "Id" BETWEEN 5001 AND 5003 AND "PaymentStatusId" = 30 AND "OrderStatusId" = 20`), 3);
    assert.ok(proxyLog.some((l) => l.kind === 'payout_mapping' && l.webhook_id === 'po_inline_1.mapping.1' && l.outcome === 'applied' && l.notes_added === 3));
  });

  test('redelivery, concurrent delivery and a second reconciliation of the payout add nothing', async () => {
    await createOrders(5011, 5013);
    const refs = ['5011', '5012', 'NOP-5013'];
    const [message] = mappingMessages('po_again_1', nopMapping('po_again_1', refs));
    // The same message at the same time: one transaction writes the notes.
    const first = await Promise.all([1, 2, 3, 4].map(() => send(message)));
    assert.deepEqual(first.map((r) => r.status), [200, 200, 200, 200]);
    assert.deepEqual(first.map((r) => r.result).sort(), ['applied', 'duplicate', 'duplicate', 'duplicate']);
    const once = await Promise.all([5011, 5012, 5013].map(notesOf));
    assert.ok(once.every((n) => n.length === 1));
    // Delivered again later (a new signature and timestamp): a duplicate.
    for (let i = 0; i < 3; i++) {
      const res = await send(message);
      assert.deepEqual([res.status, res.result, res.notes_added, res.notes_present], [200, 'duplicate', 0, 3]);
    }
    // The payout reconciled again: its mapping may differ (e.g. other amounts); still one note
    // per order, the first. An order the first mapping did not have gets its note.
    await createOrders(5014);
    const again = nopMapping('po_again_1', [...refs, '5014'], { text: () => noteText('po_again_1', '2023-11-16', { fee: '3.30', net: '96.70' }) });
    const res = await send(mappingMessages('po_again_1', again)[0]);
    assert.deepEqual([res.status, res.result, res.notes_added, res.notes_present], [200, 'applied', 1, 3]);
    assert.deepEqual(await Promise.all([5011, 5012, 5013].map(notesOf)), once);
    assert.match((await notesOf(5014))[0].Note, /fee 3\.30 USD, net 96\.70 USD$/);
    // Another payout of the same orders is another note.
    const other = await send(mappingMessages('po_again_2', nopMapping('po_again_2', refs))[0]);
    assert.deepEqual([other.result, other.notes_added], ['applied', 3]);
    assert.deepEqual((await notesOf(5011)).map((n) => n.Note), [noteText('po_again_1', '2023-11-16'), noteText('po_again_2', '2023-11-16')]);
    assert.equal(await count(`"StripeBridgePayoutNote" WHERE "PayoutId" LIKE 'po_again_%'`), 7);
  });

  test('a chunked mapping (> 96,000 bytes) delivered out of order and twice applies once, when complete', async () => {
    // 1,500 orders, half referenced by Id and half by a custom order number with a non-ASCII
    // letter.
    const first = 6000;
    const last = 7499;
    const number = (id) => `Bestellnr-ö-${id}`;
    await createOrders(first, last, { number });
    const refs = [];
    for (let id = first; id <= last; id++) refs.push(id % 2 ? number(id) : String(id));
    // The first note padded until byte 96,000 is inside an "ö": the first piece ends a byte early.
    let pad = 0;
    const text = (ref) => `${noteText('po_chunked_1', '2023-11-20', { gross: `${ref.length}.00`, currency: 'EUR', refunds: '-1.00', fee: '0.50', net: `${ref.length - 1.5}` })}${ref === refs[0] ? ' '.repeat(pad) : ''}`;
    let mapping = nopMapping('po_chunked_1', refs, { arrival: '2023-11-20', text });
    while ((Buffer.from(JSON.stringify(mapping))[CHUNK_BYTES] & 0xc0) !== 0x80) {
      pad++;
      mapping = nopMapping('po_chunked_1', refs, { arrival: '2023-11-20', text });
    }
    const messages = mappingMessages('po_chunked_1', mapping);
    assert.ok(Buffer.byteLength(JSON.stringify(mapping)) > CHUNK_BYTES);
    assert.equal(messages.length, 3);
    assert.equal(Buffer.byteLength(messages[0].text), CHUNK_BYTES - 1);
    assert.equal(messages.map((m) => m.text).join(''), JSON.stringify(mapping));
    assert.ok(messages.every((m) => Buffer.byteLength(m.text) <= CHUNK_BYTES && Buffer.byteLength(JSON.stringify(m)) < MAX_BODY_BYTES));
    const [c1, c2, c3] = messages;
    // 3, 1, 3 again, 1 again: kept, nothing written yet.
    for (const [m, received] of [[c3, 1], [c1, 2], [c3, 2], [c1, 2]]) {
      const res = await send(m);
      assert.deepEqual([res.status, res.result, res.chunk, res.chunks, res.received], [202, 'stored', m.chunk, 3, received]);
    }
    assert.equal(await count(`"StripeBridgePayoutNote" WHERE "PayoutId" = 'po_chunked_1'`), 0);
    assert.equal(await count(`"OrderNote" WHERE "OrderId" BETWEEN $1 AND $2`, [first, last]), 0);
    // 2 completes the set: every note, in one transaction.
    const done = await send(c2);
    assert.deepEqual([done.status, done.result, done.received, done.notes_added, done.notes_present, done.unknown_orders], [200, 'applied', 3, 1500, 0, 0]);
    const { rows } = await pool.query(
      `SELECT "OrderId", count(*)::int AS n, min("Note") AS "Note" FROM "OrderNote" WHERE "OrderId" BETWEEN $1 AND $2 GROUP BY "OrderId" ORDER BY "OrderId"`,
      [first, last],
    );
    assert.equal(rows.length, 1500);
    assert.ok(rows.every((r, i) => r.n === 1 && r.Note === text(refs[i])), 'one note per order, its own text');
    // Any chunk again, or all of them at once: duplicates.
    for (const res of [await send(c1), ...(await Promise.all([c3, c2, c1].map((m) => send(m))))]) {
      assert.deepEqual([res.status, res.result, res.notes_added, res.notes_present], [200, 'duplicate', 0, 1500]);
    }
    // Reconciled again and cut into more pieces: applied as a duplicate; the stale count's chunks go.
    const finer = mappingMessages('po_chunked_1', mapping, { max: 60_000 });
    assert.ok(finer.length > 3);
    const answers = [];
    for (const m of finer.reverse()) answers.push(await send(m));
    assert.deepEqual(answers.map((a) => a.result), [...finer.slice(1).map(() => 'stored'), 'duplicate']);
    assert.deepEqual(
      (await pool.query(`SELECT DISTINCT "Chunks" FROM "StripeBridgePayoutChunk" WHERE "PayoutId" = 'po_chunked_1'`)).rows,
      [{ Chunks: finer.length }],
    );
    assert.equal(await count(`"OrderNote" WHERE "OrderId" BETWEEN $1 AND $2`, [first, last]), 1500);
  });

  test('chunks delivered all at the same time apply once', async () => {
    await createOrders(7500, 8299);
    const refs = [];
    for (let id = 7500; id <= 8299; id++) refs.push(String(id));
    const mapping = nopMapping('po_chunked_2', refs, { text: (ref) => `${noteText('po_chunked_2', '2023-11-21')} [${ref}]` });
    // Smaller pieces than the Worker's, so that more of them are in flight together: whichever
    // transaction stores the last one must see the others (the payout's lock).
    const messages = mappingMessages('po_chunked_2', mapping, { max: 8_000 });
    assert.ok(messages.length >= 15);
    const once = await Promise.all(messages.map((m) => send(m)));
    assert.deepEqual(once.filter((a) => a.status !== 202).map((a) => [a.status, a.result, a.notes_added]), [[200, 'applied', 800]]);
    assert.deepEqual(once.filter((a) => a.status === 202).map((a) => a.received).sort((x, y) => x - y), messages.slice(1).map((_, i) => i + 1));
    // All of them again, twice, at once: duplicates.
    const again = await Promise.all([...messages, ...messages].map((m) => send(m)));
    assert.ok(again.every((a) => a.status === 200 && a.result === 'duplicate'), JSON.stringify(again.map((a) => a.result)));
    assert.equal(await count(`"OrderNote" WHERE "OrderId" BETWEEN 7500 AND 8299`), 800);
    assert.equal(await count(`(SELECT "OrderId" FROM "OrderNote" WHERE "OrderId" BETWEEN 7500 AND 8299 GROUP BY "OrderId" HAVING count(*) > 1) d`), 0);
  });

  test('unknown orders are skipped and reported (2xx); a delivery after they exist adds their notes', async () => {
    await createOrders(5021);
    const unknown = ['5999999', 'NOP-NONE', '00000000-0000-0000-0000-00000000abcd', '99999999999'];
    // A deleted order is unknown too.
    await createOrders(5022);
    await pool.query(`UPDATE "Order" SET "Deleted" = true WHERE "Id" = 5022`);
    const [message] = mappingMessages('po_unknown_1', nopMapping('po_unknown_1', ['5021', ...unknown, '5022']));
    const res = await send(message);
    assert.deepEqual(
      [res.status, res.result, res.notes_added, res.unknown_orders, res.unknown_order_refs],
      [200, 'applied', 1, 5, [...unknown, '5022']],
    );
    assert.equal((await notesOf(5021)).length, 1);
    assert.equal((await notesOf(5022)).length, 0);
    const logged = proxyLog.find((l) => l.kind === 'payout_mapping' && l.payout_id === 'po_unknown_1');
    assert.deepEqual([logged.outcome, logged.unknown_orders, logged.unknown_order_refs], ['applied', 5, [...unknown, '5022']]);
    // Every order unknown: still acknowledged, nothing written.
    const none = await send(mappingMessages('po_unknown_2', nopMapping('po_unknown_2', ['NOP-NONE']))[0]);
    assert.deepEqual([none.status, none.result, none.notes_added, none.unknown_orders], [200, 'applied', 0, 1]);
    // The order appears; the mapping is delivered again (a retry, a second reconciliation).
    await createOrders(5999999);
    const later = await send(message);
    assert.deepEqual([later.status, later.result, later.notes_added, later.notes_present, later.unknown_orders], [200, 'applied', 1, 1, 4]);
    assert.equal((await notesOf(5999999)).length, 1);
    assert.equal((await notesOf(5021)).length, 1);
  });

  test('references resolve as for state forwards: Id first, then OrderGuid, then CustomOrderNumber (any case), never deleted orders', async () => {
    const guid = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
    // 5081's number is 5082's id; 5082 is deleted, so "5082" names 5081. 5083's number is
    // 5084's id, which exists: "5084" names 5084. 5085's number looks like a GUID no order has.
    // 5086 and 5087 share a number: the lower id. 5088 is found by its GUID in the N format.
    const numbers = { 5081: '5082', 5083: '5084', 5085: '11111111-2222-3333-4444-555555555555', 5086: 'TWIN', 5087: 'twin', 5089: 'Mixed-Case-5089' };
    await createOrders(5081, 5089, { number: (id) => numbers[id] ?? `NOP-${id}`, guid: (id) => (id === 5088 ? guid : null) });
    await pool.query(`UPDATE "Order" SET "Deleted" = true WHERE "Id" = 5082`);
    const refs = ['5082', '5084', '11111111-2222-3333-4444-555555555555', 'twin', guid.replaceAll('-', '').toUpperCase(), 'MIXED-case-5089', '2147483648', 'NOP-5082'];
    const mapping = nopMapping('po_refs_1', refs, { text: (ref) => `Stripe payout po_refs_1 [${ref}]` });
    const res = await send(mappingMessages('po_refs_1', mapping)[0]);
    assert.deepEqual([res.result, res.notes_added, res.unknown_order_refs], ['applied', 6, ['2147483648', 'NOP-5082']]);
    const { rows } = await pool.query(
      `SELECT "OrderId", "Note" FROM "OrderNote" WHERE "OrderId" BETWEEN 5081 AND 5089 ORDER BY "OrderId"`,
    );
    assert.deepEqual(rows.map((r) => [r.OrderId, r.Note.replace('Stripe payout po_refs_1 ', '')]), [
      [5081, '[5082]'],
      [5084, '[5084]'],
      [5085, '[11111111-2222-3333-4444-555555555555]'],
      [5086, '[twin]'],
      [5088, `[${guid.replaceAll('-', '').toUpperCase()}]`],
      [5089, '[MIXED-case-5089]'],
    ]);
    // A state forward with each reference finds the same order.
    const event = readFileSync(join(here, '../../../tests/fixtures/events/pi_succeeded_basil.json'), 'utf8');
    const state = mergeOrderState(null, normalizeEvent(event));
    for (const [i, ref] of refs.entries()) {
      const body = { order_ref: ref, sequence: 1, event_ids: ['evt_refs'], state };
      const answer = await send(body, { id: `sb_refs_${i}` });
      const expected = rows.find((r) => r.Note.endsWith(`[${ref}]`))?.OrderId ?? null;
      assert.equal(answer.order_id, expected, `${ref}: ${JSON.stringify(answer)}`);
    }
  });

  test('two references naming one order make one note with both texts', async () => {
    await createOrders(5031);
    const mapping = nopMapping('po_tworefs_1', ['5031', 'NOP-5031'], { text: (ref) => `Stripe payout po_tworefs_1 [${ref}]` });
    const res = await send(mappingMessages('po_tworefs_1', mapping)[0]);
    assert.deepEqual([res.result, res.notes_added], ['applied', 1]);
    assert.deepEqual((await notesOf(5031)).map((n) => n.Note), ['Stripe payout po_tworefs_1 [5031]\nStripe payout po_tworefs_1 [NOP-5031]']);
  });

  test('a bad signature is refused and writes nothing', async () => {
    await createOrders(5041);
    const inline = mappingMessages('po_badsig_1', nopMapping('po_badsig_1', ['5041']))[0];
    const chunk = { type: 'payout.mapping', payout_id: 'po_badsig_2', chunk: 1, chunks: 2, text: '{"profile":' };
    for (const body of [inline, chunk]) {
      const res = await send(body, { secret: 'whsec_b3RoZXItc2VjcmV0' });
      assert.deepEqual([res.status, res.result, res.code], [400, 'bad_signature', 'no_match']);
    }
    // Signed for another body (the signature covers the id and the bytes).
    const text = JSON.stringify(inline);
    const headers = { 'content-type': 'application/json', ...signStandardWebhook({ id: 'po_badsig_1.mapping.1', payload: text.replace('5041', '5042'), secret: SECRET }) };
    const forged = await fetch(url, { method: 'POST', body: text, headers });
    assert.equal(forged.status, 400);
    assert.equal((await notesOf(5041)).length, 0);
    assert.equal(await count(`"StripeBridgePayoutChunk" WHERE "PayoutId" LIKE 'po_badsig_%'`), 0);
    assert.equal(await count(`"StripeBridgePayoutNote" WHERE "PayoutId" LIKE 'po_badsig_%'`), 0);
  });

  test('payout.reconciliation parts are acknowledged and change nothing', async () => {
    const notes = await count('"OrderNote"');
    const chunks = await count('"StripeBridgePayoutChunk"');
    for (const part of [2, 1, 2]) {
      const body = {
        type: 'payout.reconciliation',
        book: 'platform:test',
        payout_id: 'po_parts_1',
        part,
        parts: 2,
        summary: { payout_id: 'po_parts_1', currency: 'USD', payout_amount: '86.80', balanced: true, totals: {} },
        lines: [{ balance_transaction: 'txn_1', order_ref: '5001', net_minor: 9680 }],
        orders: { 5001: { net_minor: 8680 } },
      };
      const res = await send(body);
      assert.deepEqual([res.status, res.result, res.payout_id, res.part, res.parts, res.balanced], [200, 'ignored', 'po_parts_1', part, 2, true]);
    }
    assert.ok(proxyLog.some((l) => l.kind === 'payout_reconciliation' && l.webhook_id === 'po_parts_1.2' && l.outcome === 'ignored'));
    assert.equal(await count('"OrderNote"'), notes);
    assert.equal(await count('"StripeBridgePayoutChunk"'), chunks);
  });

  test('malformed payout messages (400) and mappings that are not this payout\'s nopCommerce notes (422) write nothing', async () => {
    await createOrders(5051);
    const notes = nopMapping('po_bad_1', ['5051']);
    const inline = { type: 'payout.mapping', payout_id: 'po_bad_1', chunk: 1, chunks: 1 };
    for (const [body, status, result] of [
      [{ ...inline, mapping: notes, chunk: 0 }, 400, 'invalid_payout_mapping'],
      [{ ...inline, mapping: notes, chunk: 2 }, 400, 'invalid_payout_mapping'],
      [{ ...inline, mapping: notes, chunks: '1' }, 400, 'invalid_payout_mapping'],
      [{ ...inline, mapping: notes, chunks: 1_000_000, chunk: 1 }, 400, 'invalid_payout_mapping'],
      [{ ...inline, mapping: notes, text: '{}' }, 400, 'invalid_payout_mapping'],
      [{ ...inline }, 400, 'invalid_payout_mapping'],
      [{ ...inline, mapping: notes, chunks: 2 }, 400, 'invalid_payout_mapping'],
      [{ ...inline, mapping: [notes] }, 400, 'invalid_payout_mapping'],
      [{ ...inline, mapping: notes, payout_id: '' }, 400, 'invalid_payout_mapping'],
      [{ ...inline, text: 'a\u0000b' }, 400, 'invalid_payout_mapping'],
      [{ ...inline, mapping: { ...notes, profile: 'salesforce' } }, 422, 'invalid_mapping'],
      [{ ...inline, mapping: { ...notes, payout_id: 'po_other' } }, 422, 'invalid_mapping'],
      [{ ...inline, mapping: { ...notes, notes: {} } }, 422, 'invalid_mapping'],
      [{ ...inline, mapping: { ...notes, notes: [{ order_id: 5051, order_note: 'x' }] } }, 422, 'invalid_mapping'],
      [{ ...inline, mapping: { ...notes, notes: [{ order_id: '5051', order_note: '' }] } }, 422, 'invalid_mapping'],
      [{ ...inline, mapping: { ...notes, notes: [...notes.notes, { order_id: '5051', order_note: 'x', display_to_customer: 'no' }] } }, 422, 'invalid_mapping'],
      // Not a payout forward: as before, neither a state forward nor a record.
      [{ type: 'payout.other', payout_id: 'po_bad_1' }, 400, 'invalid_record'],
    ]) {
      const res = await send(body, { id: 'po_bad_1.mapping.x' });
      assert.deepEqual([res.status, res.result], [status, result], JSON.stringify(body).slice(0, 120));
    }
    assert.equal((await notesOf(5051)).length, 0);
    assert.equal(await count(`"StripeBridgePayoutNote" WHERE "PayoutId" = 'po_bad_1'`), 0);
    assert.equal(await count(`"StripeBridgePayoutChunk" WHERE "PayoutId" = 'po_bad_1'`), 0);
  });

  test('a complete set of chunks that is not JSON (chunks of two reconciliations) is 422 until the right chunk arrives', async () => {
    await createOrders(5061, 5062);
    // The payout reconciled twice, with other amounts the second time (b), cut into as many pieces.
    const a = mappingMessages('po_mixed_1', nopMapping('po_mixed_1', ['5061', '5062']), { max: 120 });
    const bText = () => noteText('po_mixed_1', '2023-11-16', { refunds: '-10.00', net: '86.80' });
    const b = mappingMessages('po_mixed_1', nopMapping('po_mixed_1', ['5061', '5062'], { text: bText }), { max: 120 });
    assert.equal(a.length, b.length);
    const k = a.findIndex((m, i) => m.text !== b[i].text);
    assert.ok(k >= 0);
    assert.throws(() => JSON.parse(b.map((m, i) => (i === k ? a[k] : m).text).join('')), 'the mix is not JSON');
    // All of b but chunk k, then a's chunk k (a late delivery of the first reconciliation).
    for (const m of b.filter((_, i) => i !== k)) assert.equal((await send(m)).result, 'stored');
    const mixed = await send(a[k]);
    assert.deepEqual([mixed.status, mixed.result], [422, 'invalid_mapping']);
    assert.match(mixed.reason, /not JSON/);
    assert.equal((await notesOf(5061)).length, 0);
    // b's own chunk k replaces it: applied.
    const res = await send(b[k]);
    assert.deepEqual([res.status, res.result, res.notes_added], [200, 'applied', 2]);
    assert.deepEqual((await notesOf(5062)).map((n) => n.Note), [bText()]);
  });

  test('deleting an order or its note keeps the payout bookkeeping consistent', async () => {
    await createOrders(5071, 5072);
    const [message] = mappingMessages('po_delete_1', nopMapping('po_delete_1', ['5071', '5072']));
    assert.equal((await send(message)).notes_added, 2);
    // The admin deletes one order's note: it is not written again.
    await pool.query(`DELETE FROM "OrderNote" WHERE "OrderId" = 5071`);
    assert.equal((await pool.query(`SELECT "OrderNoteId" FROM "StripeBridgePayoutNote" WHERE "PayoutId" = 'po_delete_1' AND "OrderId" = 5071`)).rows[0].OrderNoteId, null);
    assert.equal((await send(message)).result, 'duplicate');
    assert.equal((await notesOf(5071)).length, 0);
    // An order deleted from the database takes its rows along.
    await pool.query(`DELETE FROM "Order" WHERE "Id" = 5072`);
    assert.equal(await count(`"StripeBridgePayoutNote" WHERE "OrderId" = 5072`), 0);
  });
});
