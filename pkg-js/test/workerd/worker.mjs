// A minimal Worker using the package's workerd entry (the runtime imports the .wasm module).
import { verifyAndNormalize, constructEvent, toMinorUnits } from '../../dist/workerd.mjs';
import { createCheckoutSession } from '../../dist/payments-workerd.mjs';

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const body = await request.text();
    const header = request.headers.get('stripe-signature');
    try {
      if (url.pathname === '/event') {
        return Response.json(constructEvent(body, header, env.SECRET.split(',')));
      }
      if (url.pathname === '/pay') {
        const session = await createCheckoutSession(JSON.parse(body), { apiKey: env.STRIPE_KEY, apiBase: env.STRIPE_BASE, maxRetries: 1 });
        return Response.json({ id: session.id, url: session.url, attempts: session.lastResponse.attempts });
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
