/**
 * Metrics against a stand-in SMSC: PDU counters fed through the real diagnostics channels,
 * store gauges with their cache and failure handling, binds, latencies, mirrored counters.
 */
import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import { test } from 'node:test';
import { register as globalRegistry } from 'prom-client';
import { MessageState, type MessageStateName } from '../store/types.js';
import { createMetrics, type MetricsSession, type MetricsSource, READ_COST_FACTOR } from './metrics.js';

const pduIn = diagnostics_channel.channel('smsc:pdu:in');
const pduOut = diagnostics_channel.channel('smsc:pdu:out');

function publish(dir: 'in' | 'out', command: string, commandStatus = 0, times = 1, role: 'smsc' | 'esme' = 'smsc'): void {
  const session = { role };
  for (let i = 0; i < times; i++) (dir === 'in' ? pduIn : pduOut).publish({ session, command, commandStatus, sequenceNumber: i + 1 });
}

function source() {
  const calls = { countByState: 0, queueDepth: 0, queueDepthByAccount: 0 };
  const state = { fail: false, enroute: 3 };
  const sessions = new Set<MetricsSession>();
  const stats = { delivered: 4, retried: 1, failed: 0, expired: 2, receipts: 2, inflight: 1, rerouted: 0 };
  const src: MetricsSource = {
    config: { nodeId: 'node-7', accounts: [{ systemId: 'alice' }, { systemId: 'bob' }] },
    store: {
      async countByState() {
        calls.countByState++;
        if (state.fail) throw new Error('store closed');
        const out = Object.fromEntries(Object.values(MessageState).map((s) => [s, 0])) as Record<MessageStateName, number>;
        out.ENROUTE = state.enroute;
        return out;
      },
      async queueDepth() {
        calls.queueDepth++;
        if (state.fail) throw new Error('store closed');
        return { 'esme:bob': state.enroute };
      },
      async queueDepthByAccount() {
        calls.queueDepthByAccount++;
        if (state.fail) throw new Error('store closed');
        return { alice: state.enroute };
      },
      stats: () => ({ commitBatches: 2, commitCalls: 7, commitFailures: 1, insertCalls: 5, insertRows: 6 }),
    },
    server: { sessions },
    scheduler: { stats },
  };
  return { src, calls, state, sessions, stats };
}

/** The value of the one sample line matching `re` (its first group). */
function sample(text: string, re: RegExp): number {
  const m = re.exec(text);
  assert.ok(m, `no sample matching ${re} in\n${text}`);
  return Number(m[1]);
}

test('PDUs are counted by direction, command and status name from the diagnostics channels', async () => {
  const { src } = source();
  const m = createMetrics(src, { defaultMetrics: false });
  try {
    publish('in', 'submit_sm', 0, 3);
    publish('out', 'submit_sm_resp', 0, 2);
    publish('out', 'submit_sm_resp', 0x0b);
    publish('in', 'deliver_sm_resp', 0x58, 2);
    const text = await m.registry.metrics();
    assert.equal(sample(text, /^smsc_pdus_received_total\{role="smsc",command="submit_sm",status="ESME_ROK",node="node-7"\} (\d+)$/m), 3);
    assert.equal(sample(text, /^smsc_pdus_sent_total\{role="smsc",command="submit_sm_resp",status="ESME_ROK",node="node-7"\} (\d+)$/m), 2);
    assert.equal(sample(text, /^smsc_pdus_sent_total\{role="smsc",command="submit_sm_resp",status="ESME_RINVDSTADR",node="node-7"\} (\d+)$/m), 1);
    assert.equal(sample(text, /^smsc_pdus_received_total\{role="smsc",command="deliver_sm_resp",status="ESME_RTHROTTLED",node="node-7"\} (\d+)$/m), 2);
    assert.doesNotMatch(text, /command="bind_receiver"/, 'commands never seen have no series');

    // Sessions where this process is the ESME (upstream binds, in-process clients) count apart.
    publish('out', 'submit_sm', 0, 5, 'esme');
    publish('in', 'submit_sm_resp', 0x58, 1, 'esme');
    const both = await m.registry.metrics();
    assert.equal(sample(both, /^smsc_pdus_sent_total\{role="esme",command="submit_sm",status="ESME_ROK",node="node-7"\} (\d+)$/m), 5);
    assert.equal(sample(both, /^smsc_pdus_received_total\{role="esme",command="submit_sm_resp",status="ESME_RTHROTTLED",node="node-7"\} (\d+)$/m), 1);
    assert.equal(sample(both, /^smsc_pdus_received_total\{role="smsc",command="submit_sm",status="ESME_ROK",node="node-7"\} (\d+)$/m), 3);

    // A second scrape reports totals, not increments since the first.
    publish('in', 'submit_sm');
    assert.equal(sample(await m.registry.metrics(), /^smsc_pdus_received_total\{role="smsc",command="submit_sm",status="ESME_ROK",node="node-7"\} (\d+)$/m), 4);

    assert.deepEqual(m.snapshot(), {
      pdus: {
        in: { submit_sm: { total: 4, errors: 0 }, deliver_sm_resp: { total: 2, errors: 2 } },
        out: { submit_sm_resp: { total: 3, errors: 1 } },
      },
      errorsByStatus: { ESME_RINVDSTADR: 1, ESME_RTHROTTLED: 2 },
    });
  } finally {
    m.close();
  }
});

test('a peer sending many distinct statuses cannot grow the metrics: past 32 a command, they count as other', async () => {
  const { src } = source();
  const m = createMetrics(src, { defaultMetrics: false });
  try {
    for (let status = 0x1000; status < 0x1000 + 5000; status++) publish('in', 'enquire_link_resp', status);
    const text = await m.registry.metrics();
    const series = text.split('\n').filter((l) => l.startsWith('smsc_pdus_received_total{') && l.includes('command="enquire_link_resp"'));
    assert.equal(series.length, 33);
    assert.equal(sample(text, /^smsc_pdus_received_total\{role="smsc",command="enquire_link_resp",status="other",node="node-7"\} (\d+)$/m), 5000 - 32);
    assert.equal(m.snapshot().errorsByStatus['other'], 5000 - 32);
  } finally {
    m.close();
  }
});

test('close() stops counting and unsubscribes, so sessions stop publishing', async () => {
  const { src } = source();
  assert.equal(pduIn.hasSubscribers, false);
  const m = createMetrics(src, { defaultMetrics: false });
  assert.equal(pduIn.hasSubscribers, true);
  assert.equal(pduOut.hasSubscribers, true);
  publish('in', 'enquire_link');
  m.close();
  assert.equal(pduIn.hasSubscribers, false);
  assert.equal(pduOut.hasSubscribers, false);
  publish('in', 'enquire_link');
  assert.deepEqual(m.snapshot().pdus.in, { enquire_link: { total: 1, errors: 0 } });
  m.close(); // twice is harmless
});

test('two SMSCs have separate registries, and the global registry stays empty', async () => {
  const a = createMetrics(source().src, { defaultMetrics: false });
  const b = createMetrics(source().src, { defaultMetrics: false });
  try {
    publish('in', 'submit_sm');
    assert.notEqual(a.registry, b.registry);
    a.observeSubmitLatency(0.01);
    assert.match(await a.registry.metrics(), /^smsc_submit_latency_seconds_count\{node="node-7"\} 1$/m);
    assert.match(await b.registry.metrics(), /^smsc_submit_latency_seconds_count\{node="node-7"\} 0$/m);
    assert.equal((await globalRegistry.getMetricsAsJSON()).length, 0);
  } finally {
    a.close();
    b.close();
  }
});

test('store counts are read at scrape time and cached for storeCacheMs', async () => {
  const { src, calls, state } = source();
  const cached = createMetrics(src, { defaultMetrics: false, storeCacheMs: 60_000 });
  try {
    const first = await cached.registry.metrics();
    assert.equal(sample(first, /^smsc_messages\{state="ENROUTE",node="node-7"\} (\d+)$/m), 3);
    assert.equal(sample(first, /^smsc_messages\{state="DELIVERED",node="node-7"\} (\d+)$/m), 0);
    assert.equal(sample(first, /^smsc_queue_depth\{target="esme:bob",node="node-7"\} (\d+)$/m), 3);
    assert.equal(sample(first, /^smsc_account_queue_depth\{account="alice",node="node-7"\} (\d+)$/m), 3);
    state.enroute = 5;
    const second = await cached.registry.metrics();
    assert.equal(sample(second, /^smsc_queue_depth\{target="esme:bob",node="node-7"\} (\d+)$/m), 3, 'cached');
    assert.deepEqual(calls, { countByState: 1, queueDepth: 1, queueDepthByAccount: 1 }, 'one read serves every gauge and both scrapes');
    assert.equal((await cached.storeCounts()).queueDepth['esme:bob'], 3, 'the admin API shares the cache');
  } finally {
    cached.close();
  }

  const fresh = createMetrics(src, { defaultMetrics: false, storeCacheMs: 0 });
  try {
    const before = calls.countByState;
    await fresh.registry.metrics();
    assert.equal(calls.countByState, before + 1, 'one read per scrape even without a cache');
    state.enroute = 7;
    assert.equal(sample(await fresh.registry.metrics(), /^smsc_queue_depth\{target="esme:bob",node="node-7"\} (\d+)$/m), 7);
  } finally {
    fresh.close();
  }
});

test('store counts that took long to read are kept READ_COST_FACTOR times as long (a count over millions of rows is not run every scrape)', async () => {
  const { src, calls } = source();
  let t = 0;
  let readMs = 1000;
  const count = src.store.countByState.bind(src.store);
  src.store.countByState = async () => {
    t += readMs;
    return count();
  };
  const m = createMetrics(src, { defaultMetrics: false, storeCacheMs: 5000, now: () => t });
  try {
    await m.storeCounts();
    assert.equal(calls.countByState, 1);
    t = 19_000; // since the read began: 5 s (storeCacheMs) would have run out, 20 × 1 s not
    await m.storeCounts();
    assert.equal(calls.countByState, 1, 'kept: the read took a second');
    t = READ_COST_FACTOR * 1000;
    readMs = 0;
    await m.storeCounts();
    assert.equal(calls.countByState, 2, 'read again once that ran out');
    t += 5000;
    await m.storeCounts();
    assert.equal(calls.countByState, 3, 'a quick read is kept storeCacheMs');
  } finally {
    m.close();
  }
});

test('a store that fails keeps the last values, counts the error and is asked again next scrape', async () => {
  const { src, calls, state } = source();
  const f = createMetrics(src, { defaultMetrics: false, storeCacheMs: 60_000 });
  try {
    state.fail = true;
    const failed = await f.registry.metrics();
    assert.equal(sample(failed, /^smsc_metrics_collect_errors_total\{node="node-7"\} (\d+)$/m), 1);
    assert.doesNotMatch(failed, /^smsc_messages\{/m);
    const before = calls.countByState;
    state.fail = false;
    const ok = await f.registry.metrics();
    assert.equal(calls.countByState, before + 1, 'a failed read is not cached');
    assert.equal(sample(ok, /^smsc_messages\{state="ENROUTE",node="node-7"\} (\d+)$/m), 3);
  } finally {
    f.close();
  }

  const kept = createMetrics(src, { defaultMetrics: false, storeCacheMs: 0 });
  try {
    await kept.registry.metrics();
    state.fail = true;
    const text = await kept.registry.metrics();
    assert.equal(sample(text, /^smsc_messages\{state="ENROUTE",node="node-7"\} (\d+)$/m), 3, 'last values kept');
    assert.equal(sample(text, /^smsc_metrics_collect_errors_total\{node="node-7"\} (\d+)$/m), 1);
  } finally {
    kept.close();
  }
});

test('binds per account and bind type come from the bound sessions; configured accounts show 0', async () => {
  const { src, sessions } = source();
  const m = createMetrics(src, { defaultMetrics: false });
  try {
    sessions.add({ isBound: true, context: { systemId: 'alice', bindType: 'transceiver' } });
    sessions.add({ isBound: true, context: { systemId: 'alice', bindType: 'transceiver' } });
    sessions.add({ isBound: true, context: { systemId: 'carol', bindType: 'receiver' } });
    sessions.add({ isBound: false, context: undefined }); // connected, not bound
    sessions.add({ isBound: false, context: { systemId: 'bob', bindType: 'transmitter' } }); // unbinding
    const text = await m.registry.metrics();
    assert.equal(sample(text, /^smsc_binds\{account="alice",bind_type="transceiver",node="node-7"\} (\d+)$/m), 2);
    assert.equal(sample(text, /^smsc_binds\{account="alice",bind_type="receiver",node="node-7"\} (\d+)$/m), 0);
    assert.equal(sample(text, /^smsc_binds\{account="bob",bind_type="transmitter",node="node-7"\} (\d+)$/m), 0);
    assert.equal(sample(text, /^smsc_binds\{account="carol",bind_type="receiver",node="node-7"\} (\d+)$/m), 1);
    assert.equal(sample(text, /^smsc_connections\{node="node-7"\} (\d+)$/m), 5);
    sessions.clear();
    assert.equal(sample(await m.registry.metrics(), /^smsc_binds\{account="alice",bind_type="transceiver",node="node-7"\} (\d+)$/m), 0);
  } finally {
    m.close();
  }
});

test('latency histograms take observations in seconds', async () => {
  const m = createMetrics(source().src, { defaultMetrics: false });
  try {
    m.observeSubmitLatency(0.002);
    m.observeSubmitLatency(0.2);
    m.observeDeliveryLatency(45);
    const text = await m.registry.metrics();
    assert.equal(sample(text, /^smsc_submit_latency_seconds_bucket\{le="0.0025",node="node-7"\} (\d+)$/m), 1);
    assert.equal(sample(text, /^smsc_submit_latency_seconds_bucket\{le="0.25",node="node-7"\} (\d+)$/m), 2);
    assert.equal(sample(text, /^smsc_submit_latency_seconds_count\{node="node-7"\} (\d+)$/m), 2);
    assert.equal(sample(text, /^smsc_delivery_latency_seconds_bucket\{le="30",node="node-7"\} (\d+)$/m), 0);
    assert.equal(sample(text, /^smsc_delivery_latency_seconds_bucket\{le="60",node="node-7"\} (\d+)$/m), 1);
    assert.equal(sample(text, /^smsc_delivery_latency_seconds_sum\{node="node-7"\} (\d+)$/m), 45);
  } finally {
    m.close();
  }
});

test('store and scheduler counters mirror their stats at scrape time', async () => {
  const { src, stats } = source();
  const m = createMetrics(src, { defaultMetrics: false });
  try {
    let text = await m.registry.metrics();
    assert.match(text, /^# TYPE smsc_store_commit_batches_total counter$/m);
    assert.equal(sample(text, /^smsc_store_commit_batches_total\{node="node-7"\} (\d+)$/m), 2);
    assert.equal(sample(text, /^smsc_store_commit_operations_total\{node="node-7"\} (\d+)$/m), 7);
    assert.equal(sample(text, /^smsc_store_commit_failures_total\{node="node-7"\} (\d+)$/m), 1);
    assert.equal(sample(text, /^smsc_store_inserted_messages_total\{node="node-7"\} (\d+)$/m), 6);
    assert.equal(sample(text, /^smsc_delivery_outcomes_total\{outcome="delivered",node="node-7"\} (\d+)$/m), 4);
    assert.equal(sample(text, /^smsc_delivery_outcomes_total\{outcome="expired",node="node-7"\} (\d+)$/m), 2);
    assert.equal(sample(text, /^smsc_receipts_total\{node="node-7"\} (\d+)$/m), 2);
    assert.equal(sample(text, /^smsc_deliveries_inflight\{node="node-7"\} (\d+)$/m), 1);
    stats.delivered = 10;
    text = await m.registry.metrics();
    assert.equal(sample(text, /^smsc_delivery_outcomes_total\{outcome="delivered",node="node-7"\} (\d+)$/m), 10);
  } finally {
    m.close();
  }
});

test('process and Node.js metrics are on by default', async () => {
  const m = createMetrics(source().src);
  try {
    assert.match(await m.registry.metrics(), /^process_cpu_seconds_total\{node="node-7"\} /m);
  } finally {
    m.close();
  }
});
