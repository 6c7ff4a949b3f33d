// Benchmark Worker: runs N verifications inside workerd per request, so the caller can time
// them from outside (workerd's clock does not advance during pure computation).
import { constructEvent, constructEventAsync, verifyAndNormalize, verifyAndNormalizeAsync, verifyHeader } from '../dist/workerd.mjs';
import Stripe from '../build/stripe-worker.mjs';

const stripe = new Stripe('sk_test_bench_offline');
const subtle = Stripe.createSubtleCryptoProvider();

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const n = Number(url.searchParams.get('n') || '1');
    const impl = url.searchParams.get('impl');
    const body = await request.text();
    // The same body as bytes (an ArrayBuffer, as `request.arrayBuffer()` gives), made once
    // outside the loop.
    const bytes = impl?.endsWith('-bytes') ? new TextEncoder().encode(body).buffer : undefined;
    const header = request.headers.get('stripe-signature');
    const now = { now: Number(url.searchParams.get('t')) };
    let last;
    for (let i = 0; i < n; i++) {
      switch (impl) {
        case 'none':
          last = body.length;
          break;
        case 'stripe-constructEventAsync':
          last = await stripe.webhooks.constructEventAsync(body, header, env.SECRET, 1e9, subtle);
          break;
        case 'ours-verifyHeader':
          last = verifyHeader(body, header, env.SECRET, now);
          break;
        case 'ours-constructEvent':
          last = constructEvent(body, header, env.SECRET, now);
          break;
        case 'ours-verifyAndNormalize':
          last = verifyAndNormalize(body, header, env.SECRET, now);
          break;
        case 'ours-constructEventAsync':
          last = await constructEventAsync(body, header, env.SECRET, now);
          break;
        case 'ours-verifyAndNormalizeAsync':
          last = await verifyAndNormalizeAsync(body, header, env.SECRET, now);
          break;
        case 'ours-verifyAndNormalizeAsync-bytes':
          last = await verifyAndNormalizeAsync(bytes, header, env.SECRET, now);
          break;
        default:
          return new Response(`unknown impl ${impl}`, { status: 400 });
      }
    }
    return Response.json({ ok: Boolean(last) });
  },
};
