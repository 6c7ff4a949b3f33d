// The envelope-first contract through workerd (Miniflare): a signed event whose object cannot
// be read is acknowledged and kept with the dead letters (never forwarded); ignored types are
// never read; the mode guard (STRIPE_MODE / STRIPE_ACCOUNTS) acknowledges and skips events of
// another mode or account; only an unreadable envelope is a 400.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ADMIN_TOKEN, STRIPE_SECRET, repoRoot, startDownstream, startWorker, waitFor } from './harness.mjs';
import * as sb from '../../pkg-js/dist/node.mjs';

const fixture = (name) => JSON.parse(readFileSync(join(repoRoot, 'tests/fixtures/events', name), 'utf8'));
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

function post(mf, body) {
  const sig = sb.generateTestHeader({ payload: body, secret: STRIPE_SECRET });
  return mf.dispatchFetch('http://worker/webhooks/stripe', { method: 'POST', body, headers: { 'stripe-signature': sig } });
}

/** A charge.succeeded event whose amount is a string: a mapped type with an unreadable object. */
function unreadableCharge(id, account = 'acct_1UnreadableTest') {
  const e = fixture('charge_succeeded_basil.json');
  e.id = id;
  e.account = account;
  e.data.object.amount = '2198';
  return JSON.stringify(e);
}

/** The request log line of an event (the one with `path`), parsed. */
async function requestLine(mf, eventId) {
  const line = await waitFor(() => mf.logs.find((l) => l.includes(`"${eventId}"`) && l.includes('"path"')), { what: `log line of ${eventId}` });
  return JSON.parse(line.slice(line.indexOf('{')));
}

const settle = () => new Promise((r) => setTimeout(r, 1200));

describe('unreadable and ignored events', () => {
  let mf;
  let downstream;
  before(async () => {
    downstream = await startDownstream();
    mf = await startWorker({ downstreamUrl: downstream.url });
  });
  after(async () => {
    await mf?.dispose();
    await downstream?.close();
  });
  const receivedFor = (id) => downstream.received.filter((r) => r.id === id);

  test('an unreadable event: 200, kept with the dead letters (no payload), logged, not forwarded, deduped', async () => {
    const id = 'evt_unreadable_amount';
    const body = unreadableCharge(id);
    const res = await post(mf, body);
    assert.equal(res.status, 200);
    const reason = 'data.object.amount has an unexpected type';
    assert.deepEqual(await res.json(), { result: 'unreadable', event_id: id, status: 'unreadable', reason });

    // Listed with the other dead letters, marked unreadable, with the envelope and the reason.
    const list = await (await mf.dispatchFetch('http://worker/dead-letters', { headers: auth })).json();
    const listed = list.dead_letters.find((d) => d.event_id === id);
    assert.ok(listed, JSON.stringify(list));
    assert.equal(listed.kind, 'unreadable');
    assert.equal(listed.reason, reason);
    assert.equal(listed.event_type, 'charge.succeeded');
    assert.equal(listed.created, 1735689119);
    assert.equal(listed.livemode, false);
    assert.equal(listed.account, 'acct_1UnreadableTest');
    assert.equal(typeof listed.dead_at_ms, 'number');

    // What is kept: the envelope and the reason, nothing of the object.
    const kept = await (await mf.getKVNamespace('DEAD_LETTERS')).getWithMetadata(`dl:${id}`, 'json');
    assert.deepEqual(Object.keys(kept.value).sort(), ['account', 'created', 'dead_at_ms', 'event_id', 'event_type', 'kind', 'livemode', 'reason']);
    assert.equal(kept.value.kind, 'unreadable');
    for (const text of [JSON.stringify(kept.value), JSON.stringify(kept.metadata), JSON.stringify(listed)]) {
      for (const value of ['Jenny Rosen', '"2198"', 'ch_3QbasilOrder1001', 'order_id', 'receipt_url', 'pi_3Qbasil']) {
        assert.ok(!text.includes(value), `dead letter must not contain ${value}: ${text}`);
      }
    }

    // One log line with id, type and reason; no payload values anywhere in the logs.
    const entry = await requestLine(mf, id);
    assert.equal(entry.outcome, 'unreadable');
    assert.equal(entry.event_type, 'charge.succeeded');
    assert.equal(entry.reason, reason);
    assert.equal(entry.status, 200);
    const logs = mf.logs.join('\n');
    for (const value of ['Jenny Rosen', '"2198"', 'ch_3QbasilOrder1001']) assert.ok(!logs.includes(value), `logs must not contain ${value}`);

    // Deduplicated like any other event, and never forwarded.
    const again = await post(mf, body);
    assert.equal(again.status, 200);
    assert.deepEqual(await again.json(), { result: 'duplicate', event_id: id });
    await settle();
    assert.equal(receivedFor(id).length, 0);

    // Nothing to replay: 409 with the reason, and the letter stays listed.
    const replay = await mf.dispatchFetch(`http://worker/dead-letters/${id}/replay`, { method: 'POST', headers: auth });
    assert.equal(replay.status, 409);
    const refused = await replay.json();
    assert.equal(refused.result, 'not_replayable');
    assert.equal(refused.kind, 'unreadable');
    assert.equal(refused.reason, reason);
    assert.match(refused.message, /nothing to forward/);
    assert.match(refused.message, new RegExp(`POST /dead-letters/${id}/release`));
    const still = await (await mf.dispatchFetch('http://worker/dead-letters', { headers: auth })).json();
    assert.ok(still.dead_letters.some((d) => d.event_id === id));
    await settle();
    assert.equal(receivedFor(id).length, 0);

    // Once a release reads it: released (the book forgets the event, the letter goes), then
    // Stripe's resend is applied like a new delivery and forwarded.
    const release = (eventId, headers = auth) => mf.dispatchFetch(`http://worker/dead-letters/${eventId}/release`, { method: 'POST', headers });
    assert.equal((await release(id, {})).status, 401);
    const released = await release(id);
    assert.equal(released.status, 200);
    assert.deepEqual(await released.json(), { result: 'released', event_id: id });
    const after = await (await mf.dispatchFetch('http://worker/dead-letters', { headers: auth })).json();
    assert.ok(!after.dead_letters.some((d) => d.event_id === id));
    assert.equal((await release(id)).status, 404);
    const readable = JSON.parse(body);
    readable.data.object.amount = 2198;
    const resent = await post(mf, JSON.stringify(readable));
    assert.equal(resent.status, 200);
    assert.equal((await resent.json()).result, 'accepted');
    await waitFor(() => receivedFor(id).length === 1, { what: `the resent ${id} forwarded` });
    const twice = await post(mf, JSON.stringify(readable));
    assert.equal((await twice.json()).result, 'duplicate');
  });

  test('other unreadable objects: another object type, no object, an unsupported currency', async () => {
    const cases = [
      ['evt_unreadable_other_object', (e) => { e.data.object.object = 'credit_note'; }, /data\.object\.object is another kind than the charge/],
      ['evt_unreadable_no_object', (e) => { delete e.data; }, /data\.object is missing/],
      ['evt_unreadable_currency', (e) => { e.data.object.currency = 'zz'; }, /currency/],
    ];
    for (const [id, change, reason] of cases) {
      const e = fixture('charge_succeeded_basil.json');
      e.id = id;
      change(e);
      const res = await post(mf, JSON.stringify(e));
      assert.equal(res.status, 200, id);
      const json = await res.json();
      assert.equal(json.result, 'unreadable', id);
      assert.match(json.reason, reason);
    }
    const list = await (await mf.dispatchFetch('http://worker/dead-letters', { headers: auth })).json();
    for (const [id] of cases) {
      const listed = list.dead_letters.find((d) => d.event_id === id);
      assert.equal(listed?.kind, 'unreadable', id);
      assert.equal(listed.account, null);
    }
    await settle();
    assert.equal(downstream.received.filter((r) => cases.some(([id]) => id === r.id)).length, 0);
  });

  test('ignored types are never read: foreign shapes are acknowledged as ignored', async () => {
    const creditNote = {
      id: 'evt_ignored_credit_note',
      object: 'event',
      type: 'credit_note.created',
      created: 1735689119,
      livemode: false,
      data: { object: { id: 'cn_1', object: 'credit_note', amount: 500, refunds: [{ refund: 're_1', amount_refunded: 500 }] } },
    };
    const creditGrant = {
      id: 'evt_ignored_credit_grant',
      object: 'event',
      type: 'billing.credit_grant.created',
      created: 1735689119,
      livemode: false,
      data: { object: { id: 'credgr_1', object: 'billing.credit_grant', amount: { monetary: { currency: 'usd', value: 1000 }, type: 'monetary' } } },
    };
    for (const e of [creditNote, creditGrant]) {
      const res = await post(mf, JSON.stringify(e));
      assert.equal(res.status, 200, e.type);
      assert.deepEqual(await res.json(), { result: 'ignored', event_id: e.id });
    }
    await settle();
    assert.equal(receivedFor(creditNote.id).length + receivedFor(creditGrant.id).length, 0);
  });

  test('a signed body that is not a readable event is 400 malformed_event; nothing is kept', async () => {
    for (const [id, body] of [
      ['not-json', 'definitely not json'],
      ['no-id', JSON.stringify({ object: 'event', type: 'charge.succeeded', created: 1 })],
      ['no-type', JSON.stringify({ id: 'evt_malformed_no_type', created: 1 })],
    ]) {
      const res = await post(mf, body);
      assert.equal(res.status, 400, id);
      const json = await res.json();
      assert.equal(json.result, 'malformed_event', id);
      assert.equal(json.error, 'malformed_event', id);
    }
    assert.equal(await (await mf.getKVNamespace('DEDUP')).get('evt:evt_malformed_no_type'), null);
    assert.equal(await (await mf.getKVNamespace('DEAD_LETTERS')).get('dl:evt_malformed_no_type'), null);
  });
});

describe('unreadable events when the dead letters cannot be kept', () => {
  test('503 and nothing recorded, so Stripe delivers it again', async () => {
    const downstream = await startDownstream();
    const mf = await startWorker({ downstreamUrl: downstream.url, withoutKv: ['DEAD_LETTERS'] });
    try {
      const id = 'evt_unreadable_no_store';
      const body = unreadableCharge(id);
      for (let i = 0; i < 2; i++) {
        const res = await post(mf, body);
        assert.equal(res.status, 503);
        assert.equal((await res.json()).result, 'storage_unavailable');
        assert.equal(await (await mf.getKVNamespace('DEDUP')).get(`evt:${id}`), null);
      }
      assert.ok(mf.logs.some((l) => l.includes('dead_letter_store_failed') && l.includes(id)));
      await settle();
      assert.equal(downstream.received.length, 0);
    } finally {
      await mf.dispose();
      await downstream.close();
    }
  });
});

describe('the mode guard (STRIPE_MODE, STRIPE_ACCOUNTS)', () => {
  test('STRIPE_MODE=live: a test-mode event is 200 ignored with the reason, logged, not forwarded; live events are forwarded', async () => {
    const downstream = await startDownstream();
    const mf = await startWorker({ downstreamUrl: downstream.url, vars: { STRIPE_MODE: 'live' } });
    try {
      const test = fixture('pi_succeeded_basil.json');
      test.id = 'evt_mode_test_event';
      assert.equal(test.livemode, false);
      const res = await post(mf, JSON.stringify(test));
      assert.equal(res.status, 200);
      const json = await res.json();
      assert.equal(json.result, 'ignored');
      assert.equal(json.event_id, 'evt_mode_test_event');
      assert.equal(json.reason, 'a test-mode event; this deployment accepts live mode only');
      const entry = await requestLine(mf, 'evt_mode_test_event');
      assert.equal(entry.outcome, 'ignored');
      assert.equal(entry.reason, json.reason);
      assert.equal((await (await post(mf, JSON.stringify(test))).json()).result, 'duplicate');

      const live = fixture('pi_succeeded_basil.json');
      Object.assign(live, { id: 'evt_mode_live_event', livemode: true });
      assert.equal((await (await post(mf, JSON.stringify(live))).json()).result, 'accepted');
      await waitFor(() => downstream.delivered().some((r) => r.id === 'evt_mode_live_event'), { what: 'live event delivered' });
      await settle();
      assert.equal(downstream.received.filter((r) => r.id === 'evt_mode_test_event').length, 0);
    } finally {
      await mf.dispose();
      await downstream.close();
    }
  });

  test('STRIPE_ACCOUNTS: events of accounts not listed are ignored', async () => {
    const downstream = await startDownstream();
    const mf = await startWorker({ downstreamUrl: downstream.url, vars: { STRIPE_MODE: 'test', STRIPE_ACCOUNTS: 'acct_1Accepted' } });
    try {
      const platform = fixture('pi_succeeded_basil.json');
      platform.id = 'evt_mode_platform';
      let json = await (await post(mf, JSON.stringify(platform))).json();
      assert.equal(json.result, 'ignored');
      assert.match(json.reason, /platform event/);
      const other = { ...platform, id: 'evt_mode_other_account', account: 'acct_1Other' };
      json = await (await post(mf, JSON.stringify(other))).json();
      assert.equal(json.result, 'ignored');
      assert.match(json.reason, /connected account/);
      const accepted = { ...platform, id: 'evt_mode_accepted_account', account: 'acct_1Accepted' };
      assert.equal((await (await post(mf, JSON.stringify(accepted))).json()).result, 'accepted');
      await waitFor(() => downstream.delivered().some((r) => r.id === 'evt_mode_accepted_account'), { what: 'accepted account delivered' });
      await settle();
      assert.deepEqual(downstream.received.map((r) => r.id), ['evt_mode_accepted_account']);
    } finally {
      await mf.dispose();
      await downstream.close();
    }
  });

  test('an invalid STRIPE_MODE or STRIPE_ACCOUNTS is a configuration error (500, logged)', async () => {
    for (const [vars, setting] of [
      [{ STRIPE_MODE: 'production' }, 'STRIPE_MODE'],
      [{ STRIPE_ACCOUNTS: 'acct_1,cus_123' }, 'STRIPE_ACCOUNTS'],
    ]) {
      const mf = await startWorker({ downstreamUrl: 'http://127.0.0.1:9/unused', vars });
      try {
        const e = fixture('pi_succeeded_basil.json');
        e.id = `evt_mode_invalid_${setting}`;
        const res = await post(mf, JSON.stringify(e));
        assert.equal(res.status, 500, setting);
        const json = await res.json();
        assert.equal(json.result, 'config_error');
        assert.equal(json.error, undefined, 'configuration details are logged, never answered');
        assert.ok(mf.logs.some((l) => l.includes('"config_error"') && l.includes(`${setting} (invalid_mode): `)), setting);
      } finally {
        await mf.dispose();
      }
    }
  });
});
