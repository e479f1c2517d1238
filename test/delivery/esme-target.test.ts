/**
 * The ESME target over a real listener and our client library (manual acknowledgements): up to
 * three windows per session, the ones beyond the window waiting for a slot and sent as
 * responses free slots; deliveries still waiting when the session closes, or waiting longer
 * than maxWaitMs, are given back unsent ('unavailable', no attempt counted).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Client, connect, type Delivery } from '../../src/client/client.js';
import { EsmeTarget, THROTTLE_PAUSE_MS } from '../../src/delivery/esme-target.js';
import type { Outcome } from '../../src/delivery/target.js';
import { CommandStatus } from '../../src/pdu/constants.js';
import type { BodyOf, DeliverSm } from '../../src/pdu/types.js';
import { ManualClock } from '../../src/session/clock.js';
import { storedMessage, T0 } from '../connectors/fixtures.js';
import { startServer } from '../support/server.js';
import { until } from '../support/until.js';

/** `clock`: of the messages' validity (the fixtures' messages are valid for a day from T0) and of the throttle pauses. */
async function setup(maxWaitMs?: number, clock = new ManualClock(T0), onCapacity?: () => void) {
  const h = await startServer({ accounts: [{ systemId: 'bob', password: 'bpw', windowSize: 1 }] });
  const client: Client = await connect({ port: h.port, manualAck: true });
  await client.bind({ type: 'receiver', systemId: 'bob', password: 'bpw' });
  const got: DeliverSm[] = [];
  void (async () => {
    for await (const d of client.deliveries() as AsyncIterable<Delivery>) if (d.command === 'deliver_sm') got.push(d);
  })();
  const target = new EsmeTarget(() => h.server.receiversOf('bob'), { ...(maxWaitMs === undefined ? {} : { maxWaitMs }), clock, ...(onCapacity === undefined ? {} : { onCapacity }) });
  return { h, client, got, target };
}

test('beyond the window, deliveries wait for a slot and go out as responses free one', async () => {
  const { h, client, got, target } = await setup();
  try {
    assert.equal(target.capacity(), 3, 'three windows of 1');
    const outcomes: Outcome[] = [];
    const pending = [1, 2, 3].map((i) => target.deliver(storedMessage({ id: `w${i}`, payload: Buffer.from(`m${i}`) })).then((o) => outcomes.push(o)));
    assert.equal(target.capacity(), 0);
    await until(() => got.length === 1, 'the first deliver_sm');
    assert.equal(got[0]!.shortMessage.toString(), 'm1');
    client.ack(got[0]!);
    await until(() => got.length === 2, 'the second, once the first was answered');
    assert.equal(got[1]!.shortMessage.toString(), 'm2');
    client.ack(got[1]!);
    await until(() => got.length === 3, 'the third');
    client.ack(got[2]!);
    await Promise.all(pending);
    assert.deepEqual(outcomes, [{ kind: 'delivered' }, { kind: 'delivered' }, { kind: 'delivered' }]);
    assert.equal(target.capacity(), 3);
  } finally {
    await client.close().catch(() => {});
    await h.close();
  }
});

test('deliveries still waiting when the session closes are given back unsent', async () => {
  const { h, client, got, target } = await setup();
  try {
    const first = target.deliver(storedMessage({ id: 'c1' }));
    const waiting = target.deliver(storedMessage({ id: 'c2' }));
    await until(() => got.length === 1, 'the first deliver_sm');
    client.session.destroy();
    assert.deepEqual(await waiting, { kind: 'unavailable' }, 'never sent: not an attempt');
    assert.equal((await first).kind, 'retry', 'sent and unanswered: an attempt');
  } finally {
    await h.close();
  }
});

test('a delivery that waited longer than maxWaitMs is given back rather than sent late', async () => {
  const { h, client, got, target } = await setup(0);
  try {
    const first = target.deliver(storedMessage({ id: 'l1' }));
    const late = target.deliver(storedMessage({ id: 'l2' }));
    await until(() => got.length === 1, 'the first deliver_sm');
    await new Promise((r) => setTimeout(r, 5)); // it has now waited longer than 0 ms
    client.ack(got[0]!);
    assert.deepEqual(await first, { kind: 'delivered' });
    assert.deepEqual(await late, { kind: 'unavailable' });
    assert.equal(got.length, 1, 'the late one was not sent');
  } finally {
    await client.close().catch(() => {});
    await h.close();
  }
});

test('a delivery whose validity ends while it waits for a slot is given back, never sent', async () => {
  const clock = new ManualClock(T0);
  const { h, client, got, target } = await setup(undefined, clock);
  try {
    const first = target.deliver(storedMessage({ id: 'v1', expiresAt: T0 + 60_000 }));
    const expiring = target.deliver(storedMessage({ id: 'v2', expiresAt: T0 + 3000 }));
    const lasting = target.deliver(storedMessage({ id: 'v3', expiresAt: T0 + 60_000, payload: Buffer.from('v3') }));
    await until(() => got.length === 1, 'the first deliver_sm');
    clock.advance(3000); // v2's validity has ended
    client.ack(got[0]!);
    assert.deepEqual(await first, { kind: 'delivered' });
    assert.deepEqual(await expiring, { kind: 'unavailable' }, 'left for the expiry run: EXPIRED with its receipt');
    await until(() => got.length === 2, 'the next one still valid');
    assert.equal(got[1]!.shortMessage.toString(), 'v3');
    client.ack(got[1]!);
    assert.deepEqual(await lasting, { kind: 'delivered' });
  } finally {
    await client.close().catch(() => {});
    await h.close();
  }
});

test('ESME_RTHROTTLED pauses the session (no attempt counted), then what waited goes and the scheduler is told', async () => {
  const clock = new ManualClock(T0);
  let told = 0;
  const { h, client, got, target } = await setup(undefined, clock, () => told++);
  try {
    // Window 1: t1 goes, t2 and t3 wait in the line.
    const [throttled, racing, held] = ['t1', 't2', 't3'].map((id) => target.deliver(storedMessage({ id, payload: Buffer.from(id) })));
    await until(() => got.length === 1, 'the first deliver_sm');
    client.ack(got[0]!, CommandStatus.ESME_RTHROTTLED);
    assert.deepEqual(await throttled, { kind: 'unavailable' }, "given back: not the message's failure");
    // t2 took the slot t1's answer freed, before the throttle was read; nothing goes after it.
    await until(() => got.length === 2, 't2');
    assert.equal(target.capacity(), 0, 'nothing more for the paused session');
    assert.deepEqual(await target.deliver(storedMessage({ id: 't4' })), { kind: 'unavailable' });
    client.ack(got[1]!);
    assert.deepEqual(await racing, { kind: 'delivered' });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(got.length, 2, 't3 is held through the pause');
    assert.equal(told, 0);
    clock.advance(THROTTLE_PAUSE_MS);
    await until(() => got.length === 3, 't3 once the pause is over');
    assert.equal(got[2]!.shortMessage.toString(), 't3');
    assert.equal(told, 1, 'the scheduler is told there is room again');
    client.ack(got[2]!);
    assert.deepEqual(await held, { kind: 'delivered' });
    assert.equal(target.capacity(), 3);
  } finally {
    await client.close().catch(() => {});
    await h.close();
  }
});

test("a delivery queued behind the session's own enquire_link goes out when that response frees the slot", async () => {
  const { h, client, got, target } = await setup();
  try {
    const session = h.server.receiversOf('bob')[0]!;
    const ping = session.request('enquire_link', {} as BodyOf<'enquire_link'>, { wait: false });
    const outcome = target.deliver(storedMessage({ id: 'e1', payload: Buffer.from('after the ping') }));
    assert.equal(session.outstanding, 1, 'the window of 1 is the enquire_link: the delivery waits');
    await ping;
    // No deliver_sm of ours was in flight, so no response of ours pumps the line: it must go out anyway.
    await until(() => got.length === 1, 'the deliver_sm once the enquire_link_resp came');
    assert.equal(got[0]!.shortMessage.toString(), 'after the ping');
    client.ack(got[0]!);
    assert.deepEqual(await outcome, { kind: 'delivered' });
  } finally {
    await client.close().catch(() => {});
    await h.close();
  }
});

test('deliveries waiting when the SMSC starts to unbind the session are given back at once', async () => {
  const { h, client, got, target } = await setup();
  try {
    const session = h.server.receiversOf('bob')[0]!;
    const first = target.deliver(storedMessage({ id: 'u1' }));
    let waited: Outcome | undefined;
    void target.deliver(storedMessage({ id: 'u2' })).then((o) => (waited = o));
    await until(() => got.length === 1, 'the first deliver_sm');
    // The window is full, so the unbind itself waits for the slot the first response frees:
    // no slot is left for the waiting delivery, which must not wait for the session's end.
    const unbinding = session.unbind();
    await until(() => waited !== undefined, 'the waiting delivery given back');
    assert.deepEqual(waited, { kind: 'unavailable' });
    assert.equal(got.length, 1, 'never sent');
    client.ack(got[0]!);
    assert.deepEqual(await first, { kind: 'delivered' });
    await unbinding;
  } finally {
    await client.close().catch(() => {});
    await h.close();
  }
});
