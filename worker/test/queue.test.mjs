// The forward queue's consumer: a message that cannot be read is logged and left out; the rest
// of its batch is delivered.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startDownstream, startWorker, waitFor } from './harness.mjs';

test('one unreadable queue message never fails its batch', async () => {
  const downstream = await startDownstream();
  const mf = await startWorker({ downstreamUrl: downstream.url });
  try {
    const queue = await mf.getQueueProducer('FORWARD_QUEUE');
    await queue.sendBatch([
      { body: { unexpected: true } },
      { body: { event_id: 'fwd_ok_1', event_type: 'order.state', body: '{"order_ref":"Q1","sequence":1}' } },
      { body: 'not a forward' },
      { body: { event_id: 'fwd_ok_2', event_type: 'order.state', body: '{"order_ref":"Q2","sequence":1}' } },
    ]);
    await waitFor(() => ['fwd_ok_1', 'fwd_ok_2'].every((id) => downstream.delivered().some((r) => r.id === id)), { what: 'the readable messages' });
    await waitFor(() => mf.logs.filter((l) => l.includes('"unreadable_message"')).length === 2, { what: 'two log lines' });
    // Left out once, not retried: nothing else reaches the backend.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(downstream.received.length, 2);
  } finally {
    await mf.dispose();
    await downstream.close();
  }
});
