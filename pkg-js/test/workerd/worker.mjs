// A minimal Worker using the package's workerd entry (the runtime imports the .wasm module).
import * as main from '../../dist/workerd.mjs';
import { verifyAndNormalize, constructEvent, toMinorUnits, verifyAndNormalizeAsync, constructEventAsync, verifyHeaderAsync } from '../../dist/workerd.mjs';
import { mergeOrderState, upgradeOrderState, mapToTarget } from '../../dist/targets-workerd.mjs';
import { createCheckoutSession } from '../../dist/payments-workerd.mjs';
import { fetchPayoutReconciliation } from '../../dist/finance-workerd.mjs';

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    // The README's recommended form reads the body's bytes (`/async-bytes`); the rest read text.
    const raw = url.pathname === '/async-bytes' ? await request.arrayBuffer() : undefined;
    const body = raw === undefined ? await request.text() : undefined;
    const header = request.headers.get('stripe-signature');
    try {
      if (url.pathname === '/event') {
        return Response.json(constructEvent(body, header, env.SECRET.split(',')));
      }
      if (url.pathname === '/pay') {
        const session = await createCheckoutSession(JSON.parse(body), { apiKey: env.STRIPE_KEY, apiBase: env.STRIPE_BASE, maxRetries: 1 });
        return Response.json({ id: session.id, url: session.url, attempts: session.lastResponse.attempts });
      }
      if (url.pathname === '/payout') {
        const r = await fetchPayoutReconciliation(url.searchParams.get('id'), { apiKey: env.STRIPE_KEY, apiBase: env.STRIPE_BASE, maxRetries: 1 });
        return Response.json(r);
      }
      if (url.pathname === '/state') {
        // The order state (stripe-bridge/targets) over the records in the body, one per line.
        let state = url.searchParams.has('stored') ? upgradeOrderState(JSON.parse(url.searchParams.get('stored'))) : null;
        let mapped = null;
        for (const line of body.split('\n').filter(Boolean)) {
          const record = JSON.parse(line);
          state = mergeOrderState(state, record);
          mapped = mapToTarget(record, 'nopcommerce', { state });
        }
        return Response.json({ state, mapped, mainHasState: 'mergeOrderState' in main || 'upgradeOrderState' in main });
      }
      // The asynchronous functions (Web Crypto's HMAC without nodejs_compat), `now` settable.
      const options = url.searchParams.has('now') ? { now: Number(url.searchParams.get('now')) } : undefined;
      if (url.pathname === '/async') {
        return Response.json(await verifyAndNormalizeAsync(body, header, env.SECRET.split(','), options));
      }
      if (url.pathname === '/async-bytes') {
        return Response.json(await verifyAndNormalizeAsync(raw, header, env.SECRET.split(','), options));
      }
      if (url.pathname === '/async-event') {
        return Response.json(await constructEventAsync(body, header, env.SECRET.split(','), options));
      }
      if (url.pathname === '/async-header') {
        return Response.json(await verifyHeaderAsync(new TextEncoder().encode(body), header, env.SECRET.split(','), options));
      }
      if (url.pathname === '/money') {
        return Response.json({ minor: toMinorUnits(url.searchParams.get('amount'), url.searchParams.get('currency')) });
      }
      return Response.json(verifyAndNormalize(body, header, env.SECRET.split(',')));
    } catch (e) {
      return Response.json({ name: e.name, type: e.type, code: e.code, message: e.message }, { status: 400 });
    }
  },
};
