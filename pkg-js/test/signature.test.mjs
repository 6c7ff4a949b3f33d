// Signature verification through the package: the core's edge cases, in both the Node entry
// (native HMAC) and the wasm-only path the browser and workerd entries use.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import * as nodeApi from '../dist/node.mjs';
import { wasmOnlyApi } from './helpers.mjs';

const SECRET = 'whsec_test_secret';
const BODY = '{"id":"evt_test_webhook","object":"event"}';
const T = 1700000000;

function v1(body, secret, t) {
  return createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex');
}

for (const [label, getApi] of [
  ['node entry (native HMAC)', async () => nodeApi],
  ['wasm-only entry', wasmOnlyApi],
]) {
  describe(label, async () => {
    const sb = await getApi();
    const opts = { now: T };
    const header = `t=${T},v1=${v1(BODY, SECRET, T)}`;
    const rejects = (fn, code) =>
      assert.throws(fn, (e) => {
        assert.ok(e instanceof sb.StripeSignatureVerificationError, `${e}`);
        assert.ok(e instanceof sb.StripeBridgeError);
        assert.ok(e instanceof Error);
        assert.equal(e.type, 'StripeSignatureVerificationError');
        assert.equal(e.code, code);
        assert.ok(!e.message.includes(SECRET), 'no secret in messages');
        return true;
      });

    test('the async functions agree with the synchronous ones (results and rejections)', async () => {
      const event = '{"id":"evt_1","object":"event","type":"charge.succeeded","created":1,"data":{"object":{"id":"ch_1","object":"charge","amount":1050,"currency":"eur","paid":true}}}';
      const signed = `t=${T},v1=${v1(event, SECRET, T)}`;
      for (const body of [event, Buffer.from(event)]) {
        assert.equal(await sb.verifyHeaderAsync(body, signed, SECRET, opts), true);
        assert.deepEqual(await sb.constructEventAsync(body, signed, ['whsec_other', SECRET], opts), JSON.parse(event));
        const record = await sb.verifyAndNormalizeAsync(body, signed, SECRET, opts);
        assert.deepEqual(record, sb.verifyAndNormalize(body, signed, SECRET, opts));
        assert.equal(record.amount, '10.50');
      }
      const bad = [
        [BODY, header, 'whsec_wrong', opts, 'no_match'],
        [`${BODY} `, header, SECRET, opts, 'no_match'],
        [BODY, header, SECRET, { now: T + 301 }, 'timestamp_outside_tolerance'],
        [BODY, '', SECRET, opts, 'no_header'],
        [BODY, 't=x', SECRET, opts, 'malformed_header'],
      ];
      for (const [body, h, secret, o, code] of bad) {
        rejects(() => sb.verifyAndNormalize(body, h, secret, o), code);
        for (const fn of [sb.verifyHeaderAsync, sb.constructEventAsync, sb.verifyAndNormalizeAsync]) {
          const promise = fn(body, h, secret, o);
          assert.ok(promise instanceof Promise, 'errors are rejections, not throws');
          await assert.rejects(promise, (e) => e instanceof sb.StripeSignatureVerificationError && e.code === code);
        }
      }
    });

    test('async: what is verified is what is read; string bodies parsed as given; checks in the sync order', async () => {
      const event = '{"id":"evt_1","object":"event","type":"charge.succeeded","created":1,"data":{"object":{"id":"ch_1","object":"charge","amount":100,"currency":"usd","paid":true}}}';
      const signed = `t=${T},v1=${v1(event, SECRET, T)}`;
      // The caller's array changes right after the call: the signed bytes count.
      const buf = Buffer.from(event);
      const pending = sb.verifyAndNormalizeAsync(buf, signed, SECRET, opts);
      const pendingEvent = sb.constructEventAsync(buf, signed, SECRET, opts);
      buf.write('999', buf.indexOf('100'));
      assert.equal((await pending).amount_minor, 100);
      assert.equal((await pendingEvent).data.object.amount, 100);
      // A signed body with a byte order mark is not JSON.parse-able text, async or not.
      const bom = `\uFEFF${event}`;
      const bomHeader = `t=${T},v1=${v1(bom, SECRET, T)}`;
      assert.throws(() => sb.constructEvent(bom, bomHeader, SECRET, opts), (e) => e.code === 'malformed_event');
      await assert.rejects(sb.constructEventAsync(bom, bomHeader, SECRET, opts), (e) => e.code === 'malformed_event');
      // Two bad inputs: the same one is reported, sync or async.
      for (const [h, o] of [['garbage', { now: T, mode: 'bogus' }], ['t=1000', { now: T, orderKeys: 'x' }], ['garbage', { now: Number.NaN }]]) {
        let code;
        try {
          sb.verifyAndNormalize(event, h, SECRET, o);
        } catch (e) {
          code = e.code;
        }
        await assert.rejects(sb.verifyAndNormalizeAsync(event, h, SECRET, o), (e) => e.code === code, `${h} ${JSON.stringify(o)}: ${code}`);
      }
    });

    test('string bodies of every size, non-ASCII, one after another (the reused encoding buffer)', async () => {
      for (const size of [0, 10, 5000, 6000, 60000, 400000]) {
        const body = `{"id":"evt_big","note":"${'Zoë 🧾 '.repeat(size / 8)}"}`;
        const h = `t=${T},v1=${v1(body, SECRET, T)}`;
        assert.equal(sb.verifyHeader(body, h, SECRET, opts), true, `size ${size}`);
        assert.equal(await sb.verifyHeaderAsync(body, h, SECRET, opts), true);
        // The previous body's bytes must not leak into the next verification.
        rejects(() => sb.verifyHeader(body.replace('evt_big', 'evt_bis'), h, SECRET, opts), 'no_match');
      }
    });

    test('known vector, as stripe-node signs it', () => {
      assert.equal(
        sb.generateTestHeader({ payload: BODY, secret: SECRET, timestamp: T }),
        't=1700000000,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990',
      );
    });

    test('accepts string, Buffer, Uint8Array, ArrayBuffer and DataView payloads', () => {
      const buf = Buffer.from(BODY);
      const u8 = new TextEncoder().encode(BODY);
      for (const payload of [BODY, buf, u8, u8.buffer.slice(0), new DataView(u8.buffer.slice(0))]) {
        assert.equal(sb.verifyHeader(payload, header, SECRET, opts), true);
        assert.equal(sb.constructEvent(payload, header, SECRET, opts).id, 'evt_test_webhook');
      }
      assert.equal(sb.verifyHeader(BODY, Buffer.from(header), SECRET, opts), true);
    });

    test('several secrets: any match passes', () => {
      assert.equal(sb.verifyHeader(BODY, header, ['whsec_old', SECRET], opts), true);
      rejects(() => sb.verifyHeader(BODY, header, ['whsec_a', 'whsec_b'], opts), 'no_match');
    });

    test('unusual secrets (lone surrogates, NUL, exactly and past a 64-byte block, multi-byte) verify end to end', async () => {
      const event = '{"id":"evt_1","type":"charge.succeeded","created":1700000000,"data":{"object":{"id":"ch_1","object":"charge"}}}';
      const secrets = ['whsec_\ud800x\u0000', '\udc00', 'a\ud83d', '\u0000z', 'k'.repeat(64), 'k'.repeat(65), 'é€😀'.repeat(30)];
      for (const secret of secrets) {
        for (const body of [event, Buffer.from(event)]) {
          const signed = `t=${T},v1=${v1(body, secret, T)}`;
          assert.equal(sb.verifyHeader(body, signed, secret, opts), true);
          assert.equal(sb.verifyHeader(body, signed, ['whsec_other', secret], opts), true);
          assert.equal(sb.verifyAndNormalize(body, signed, secret, opts).event_id, 'evt_1');
          assert.equal(await sb.verifyHeaderAsync(body, signed, secret, opts), true);
          rejects(() => sb.verifyHeader(`${event} `, signed, secret, opts), 'no_match');
        }
      }
    });

    test('missing header and payload', () => {
      for (const h of [undefined, null, '', '  ']) rejects(() => sb.verifyHeader(BODY, h, SECRET, opts), 'no_header');
      for (const p of ['', undefined, null, new Uint8Array(0)]) rejects(() => sb.verifyHeader(p, header, SECRET, opts), 'no_payload');
      rejects(() => sb.verifyHeader(BODY, [header], SECRET, opts), 'malformed_header');
    });

    test('a parsed object is not a raw body', () => {
      rejects(() => sb.constructEvent(JSON.parse(BODY), header, SECRET, opts), 'invalid_payload_type');
    });

    test('malformed headers', () => {
      for (const h of ['bad_header', "I'm not even a real signature header", `v1=${v1(BODY, SECRET, T)}`, 't=', 't=12abc,v1=00', 't=-5,v1=00', `t=${T},t=${T + 1},v1=${v1(BODY, SECRET, T)}`]) {
        rejects(() => sb.verifyHeader(BODY, h, SECRET, opts), 'malformed_header');
      }
    });

    test('no usable v1 signature', () => {
      const sig = v1(BODY, SECRET, T);
      for (const h of [`t=${T}`, `t=${T},v0=${sig}`, `t=${T},v1=deadbeef`, `t=${T},v1=${sig.toUpperCase()}`, 'v1,t=1']) {
        rejects(() => sb.verifyHeader(BODY, h, SECRET, opts), 'no_signatures');
      }
    });

    test('invalid v1 entries are skipped; spaces are tolerated', () => {
      const sig = v1(BODY, SECRET, T);
      for (const h of [`t=${T},v1=bad_signature,v1=${sig}`, `t=${T}, v1=${sig}`, ` t = ${T} , v1 = ${sig} `, `t=${T},,v1=${sig},`]) {
        assert.equal(sb.verifyHeader(BODY, h, SECRET, opts), true, h);
      }
    });

    test('no match: wrong secret, tampered body, re-serialized body; the hint names the raw body', () => {
      rejects(() => sb.verifyHeader(BODY, header, 'whsec_wrong', opts), 'no_match');
      rejects(() => sb.verifyHeader(BODY + ' ', header, SECRET, opts), 'no_match');
      const pretty = JSON.stringify(JSON.parse(BODY), null, 2);
      assert.throws(() => sb.verifyHeader(pretty, header, SECRET, opts), /raw request body/);
      assert.throws(() => sb.verifyHeader(BODY, header, `${SECRET} `, opts), /whitespace/);
    });

    test('tolerance: default 300 s, two-sided, custom, disabled only explicitly', () => {
      assert.equal(sb.verifyHeader(BODY, header, SECRET, { now: T + 300 }), true);
      rejects(() => sb.verifyHeader(BODY, header, SECRET, { now: T + 301 }), 'timestamp_outside_tolerance');
      rejects(() => sb.verifyHeader(BODY, header, SECRET, { now: T - 301 }), 'timestamp_outside_tolerance');
      assert.equal(sb.verifyHeader(BODY, header, SECRET, { now: T + 301, tolerance: 400 }), true);
      rejects(() => sb.verifyHeader(BODY, header, SECRET, { now: T + 11, tolerance: 10 }), 'timestamp_outside_tolerance');
      assert.equal(sb.verifyHeader(BODY, header, SECRET, { now: T + 1e6, tolerance: false }), true);
      rejects(() => sb.verifyHeader(BODY, header, SECRET, { now: T, tolerance: 0 }), 'invalid_tolerance');
      assert.equal(sb.verifyHeader(BODY, header, SECRET, { now: new Date(T * 1000) }), true);
      // Signature before timestamp, like stripe-node.
      rejects(() => sb.verifyHeader(BODY, `t=1,v1=${'0'.repeat(64)}`, SECRET, opts), 'no_match');
    });

    test('default clock is now', () => {
      const fresh = sb.generateTestHeader({ payload: BODY, secret: SECRET });
      assert.equal(sb.verifyHeader(BODY, fresh, SECRET), true);
      rejects(() => sb.verifyHeader(BODY, header, SECRET), 'timestamp_outside_tolerance');
    });

    test('non-UTF-8 bodies are verified as bytes', () => {
      const bytes = new Uint8Array([0xff, 0xfe, 0x7b, 0x80, 0x00, 0x7d]);
      const h = sb.generateTestHeader({ payload: bytes, secret: SECRET, timestamp: T });
      assert.equal(sb.verifyHeader(bytes, h, SECRET, opts), true);
      rejects(() => sb.verifyHeader(new Uint8Array([0xfd, ...bytes.slice(1)]), h, SECRET, opts), 'no_match');
    });

    test('blank secrets are refused; bad arguments are typed errors', async () => {
      rejects(() => sb.verifyHeader(BODY, header, '', opts), 'no_secrets');
      rejects(() => sb.verifyHeader(BODY, header, ' \t', opts), 'no_secrets');
      for (const [secret, o, check] of [
        ['', opts, (e) => e.code === 'no_secrets'],
        [['whsec_x', ' '], opts, (e) => e.code === 'no_secrets'],
        [42, opts, (e) => e instanceof sb.StripeInvalidArgumentError],
        [SECRET, { now: 'soon' }, (e) => e instanceof sb.StripeInvalidArgumentError],
        [SECRET, { tolerance: '300' }, (e) => e instanceof sb.StripeInvalidArgumentError],
      ]) {
        await assert.rejects(sb.verifyAndNormalizeAsync(BODY, header, secret, o), check);
        await assert.rejects(sb.constructEventAsync(BODY, header, secret, o), check);
      }
      assert.throws(() => sb.verifyHeader(BODY, header, 42, opts), sb.StripeInvalidArgumentError);
      assert.throws(() => sb.verifyHeader(BODY, header, SECRET, { now: 'soon' }), sb.StripeInvalidArgumentError);
      assert.throws(() => sb.verifyHeader(BODY, header, SECRET, { now: 1.5 }), sb.StripeInvalidArgumentError);
      assert.throws(() => sb.verifyHeader(BODY, header, SECRET, { tolerance: '300' }), sb.StripeInvalidArgumentError);
    });

    test('a signed non-JSON body is an event error', () => {
      const h = sb.generateTestHeader({ payload: 'not json', secret: SECRET, timestamp: T });
      assert.throws(() => sb.constructEvent('not json', h, SECRET, opts), (e) => e instanceof sb.StripeEventError && e.code === 'malformed_event');
    });
  });
}
