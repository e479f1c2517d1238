import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { T0, to } from '../../test/connectors/fixtures.js';
import type { Outcome } from '../delivery/target.js';
import { ConfigKeyError } from '../routing/validate.js';
import { ManualClock } from '../session/clock.js';
import { decodeGsm7 } from '../sm/gsm7.js';
import { MapError, type MoMessage, type NetworkRange, parseNetwork, SimulatedNetwork } from './network.js';

/** Lets promise continuations run (no I/O involved, so a few microtask turns suffice). */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

function net(ranges: NetworkRange[], extra: { concurrency?: number; seed?: number; maxLatencyMs?: number } = {}) {
  const clock = new ManualClock(T0);
  const sunk: MoMessage[] = [];
  const network = new SimulatedNetwork({
    ranges,
    clock,
    seed: extra.seed ?? 7,
    ...(extra.concurrency !== undefined ? { concurrency: extra.concurrency } : {}),
    ...(extra.maxLatencyMs !== undefined ? { maxLatencyMs: extra.maxLatencyMs } : {}),
    moSink: async (mo) => {
      sunk.push(mo);
      return `mo${sunk.length}`;
    },
  });
  return { clock, network, sunk };
}

describe('SimulatedNetwork: MT delivery', () => {
  test('a reachable subscriber with successRatio 1 gets the message', async () => {
    const { network } = net([{ prefix: '4470', successRatio: 1 }]);
    assert.deepEqual(await network.deliver(to('447012345678')), { kind: 'delivered' });
    assert.equal(network.stats.delivered, 1);
  });

  test('numbers outside every range are unknown subscribers: failed UNDELIVERABLE, error 1', async () => {
    const { network } = net([{ prefix: '4470' }]);
    assert.deepEqual(await network.deliver(to('33612345678')), { kind: 'failed', state: 'UNDELIVERABLE', errorCode: MapError.UnknownSubscriber });
  });

  test('an empty prefix catches every number; the longest prefix wins', async () => {
    const { network } = net([
      { prefix: '', successRatio: 0, failure: 'barred' },
      { prefix: '4470', successRatio: 1 },
    ]);
    assert.equal((await network.deliver(to('4470'))).kind, 'delivered');
    assert.deepEqual(await network.deliver(to('4471')), { kind: 'failed', state: 'UNDELIVERABLE', errorCode: 13 });
  });

  test('failure causes map to outcomes with GSM error codes', async () => {
    const cases: [NetworkRange['failure'], Outcome][] = [
      ['absent', { kind: 'retry', errorCode: 27 }],
      ['unknown', { kind: 'failed', state: 'UNDELIVERABLE', errorCode: 1 }],
      ['busy', { kind: 'retry', errorCode: 31 }],
      ['memoryFull', { kind: 'retry', errorCode: 32 }],
      ['system', { kind: 'retry', errorCode: 34 }],
      ['teleservice', { kind: 'failed', state: 'UNDELIVERABLE', errorCode: 11 }],
      ['illegal', { kind: 'failed', state: 'REJECTED', errorCode: 9 }],
    ];
    for (const [failure, want] of cases) {
      const { network } = net([{ prefix: '44', successRatio: 0, ...(failure !== undefined ? { failure } : {}) }]);
      assert.deepEqual(await network.deliver(to('4470')), want, String(failure));
    }
    const { network } = net([{ prefix: '44', successRatio: 0 }]);
    assert.deepEqual(await network.deliver(to('4470')), { kind: 'retry', errorCode: 27 }, 'default cause: absent');
  });

  test('success ratio and failure weights hold over many attempts (seeded, reproducible)', async () => {
    const run = async (seed: number) => {
      const { network } = net([{ prefix: '44', successRatio: 0.7, failure: { absent: 3, unknown: 1 } }], { seed });
      const counts = { delivered: 0, absent: 0, unknown: 0 };
      for (let i = 0; i < 4000; i++) {
        const o = await network.deliver(to(`4470${i}`));
        if (o.kind === 'delivered') counts.delivered++;
        else if (o.kind === 'retry' && o.errorCode === 27) counts.absent++;
        else if (o.kind === 'failed' && o.errorCode === 1) counts.unknown++;
        else assert.fail(`unexpected outcome ${JSON.stringify(o)}`);
      }
      return counts;
    };
    const a = await run(1);
    assert.ok(Math.abs(a.delivered / 4000 - 0.7) < 0.03, `delivered ${a.delivered}`);
    assert.ok(Math.abs(a.absent / (a.absent + a.unknown) - 0.75) < 0.05, `absent ${a.absent} unknown ${a.unknown}`);
    assert.deepEqual(await run(1), a, 'same seed, same outcomes');
    assert.notDeepEqual(await run(2), a, 'another seed, other outcomes');
  });

  test('latency: the outcome comes only after latencyMs of (manual) time', async () => {
    const { clock, network } = net([{ prefix: '44', latencyMs: 500 }]);
    let outcome: Outcome | undefined;
    void network.deliver(to('4470')).then((o) => {
      outcome = o;
    });
    await flush();
    assert.equal(network.stats.inflight, 1);
    clock.advance(499);
    await flush();
    assert.equal(outcome, undefined);
    clock.advance(1);
    await flush();
    assert.deepEqual(outcome, { kind: 'delivered' });
    assert.equal(network.stats.inflight, 0);
  });

  test('latency jitter: uniform within [base, base + jitter), exponential has about the given mean', async () => {
    for (const latencyDistribution of ['uniform', 'exponential'] as const) {
      const { clock, network } = net([{ prefix: '44', latencyMs: 100, latencyJitterMs: 200, latencyDistribution }]);
      const latencies: number[] = [];
      for (let i = 0; i < 300; i++) {
        const start = clock.now();
        let done = false;
        void network.deliver(to('4470')).then(() => {
          done = true;
        });
        let waited = 0;
        while (!done && waited < 100_000) {
          clock.advance(1);
          waited++;
          await flush();
        }
        assert.ok(done, 'attempt completed');
        latencies.push(clock.now() - start);
      }
      assert.ok(Math.min(...latencies) >= 100, `${latencyDistribution}: min ${Math.min(...latencies)}`);
      const mean = latencies.reduce((s, x) => s + x, 0) / latencies.length;
      if (latencyDistribution === 'uniform') {
        assert.ok(Math.max(...latencies) <= 300, `max ${Math.max(...latencies)}`);
        assert.ok(Math.abs(mean - 200) < 25, `uniform mean ${mean}`);
      } else {
        assert.ok(Math.abs(mean - 300) < 60, `exponential mean ${mean}`);
      }
    }
  });

  test('maxLatencyMs cuts the exponential tail: no attempt takes longer (it must end within its lease)', async () => {
    const { clock, network } = net([{ prefix: '44', latencyMs: 10, latencyJitterMs: 10_000, latencyDistribution: 'exponential' }], { maxLatencyMs: 50 });
    let longest = 0;
    for (let i = 0; i < 40; i++) {
      const start = clock.now();
      let done = false;
      void network.deliver(to('4470')).then(() => {
        done = true;
      });
      while (!done && clock.now() - start < 1000) {
        clock.advance(1);
        await flush();
      }
      assert.ok(done, 'attempt completed');
      longest = Math.max(longest, clock.now() - start);
    }
    assert.equal(longest, 50, 'a mean of 10 s jitter, cut at 50 ms');
  });

  test('a handset switched off until T: retry (absent) until T, then delivered', async () => {
    const { clock, network } = net([{ prefix: '44' }]);
    network.switchOff('447000000001', T0 + 60_000);
    assert.equal(network.switchedOffUntil('447000000001'), T0 + 60_000);
    assert.deepEqual(await network.deliver(to('447000000001')), { kind: 'retry', errorCode: 27 });
    assert.equal((await network.deliver(to('447000000002'))).kind, 'delivered', 'other numbers are on');
    clock.advance(59_999);
    assert.deepEqual(await network.deliver(to('447000000001')), { kind: 'retry', errorCode: 27 });
    clock.advance(1);
    assert.deepEqual(await network.deliver(to('447000000001')), { kind: 'delivered' });
    assert.equal(network.switchedOffUntil('447000000001'), undefined);
    network.switchOff('447000000001', T0 + 120_000);
    network.switchOn('447000000001');
    assert.equal((await network.deliver(to('447000000001'))).kind, 'delivered');
    assert.equal(network.stats.switchedOff, 2);
  });

  test('random switched-off handsets: the given share is off, each until the end of its period, consistently', async () => {
    const { clock, network } = net([{ prefix: '44', switchedOff: { ratio: 0.3, durationMs: 10_000 } }]);
    let off = 0;
    const offNumbers: [string, number][] = [];
    for (let i = 0; i < 2000; i++) {
      const addr = `4470${String(i).padStart(8, '0')}`;
      const until = network.switchedOffUntil(addr);
      if (until !== undefined) {
        off++;
        assert.ok(until > clock.now() && until <= clock.now() + 10_000, `until ${until - clock.now()}`);
        assert.equal(network.switchedOffUntil(addr), until, 'the same answer every time');
        if (offNumbers.length < 50) offNumbers.push([addr, until]);
      }
    }
    assert.ok(Math.abs(off / 2000 - 0.3) < 0.04, `off share ${off / 2000}`);
    // Time moves in this loop, so each number's state is read afresh at its turn.
    let checked = 0;
    for (const [addr] of offNumbers) {
      const until = network.switchedOffUntil(addr);
      if (until === undefined) continue;
      checked++;
      assert.deepEqual(await network.deliver(to(addr)), { kind: 'retry', errorCode: 27 });
      clock.advance(until - clock.now() - 1);
      assert.equal(network.switchedOffUntil(addr), until, 'still off just before T');
      clock.advance(1);
      const next = network.switchedOffUntil(addr);
      assert.ok(next === undefined || next >= until + 10_000, 'after T: on, or off for the whole next period');
      assert.equal((await network.deliver(to(addr))).kind, next === undefined ? 'delivered' : 'retry');
    }
    assert.ok(checked >= 10, `checked ${checked}`);
    const never = net([{ prefix: '44', switchedOff: { ratio: 0, durationMs: 1000 } }]).network;
    const always = net([{ prefix: '44', switchedOff: { ratio: 1, durationMs: 1000 } }]).network;
    for (let i = 0; i < 100; i++) {
      assert.equal(never.switchedOffUntil(`44${i}`), undefined);
      assert.notEqual(always.switchedOffUntil(`44${i}`), undefined);
    }
  });

  test('capacity is the free concurrency; beyond it attempts are unavailable', async () => {
    const { clock, network } = net([{ prefix: '44', latencyMs: 10 }], { concurrency: 2 });
    assert.equal(network.capacity(), 2);
    const a = network.deliver(to('441'));
    const b = network.deliver(to('442'));
    assert.equal(network.capacity(), 0);
    assert.deepEqual(await network.deliver(to('443')), { kind: 'unavailable' });
    clock.advance(10);
    assert.deepEqual(await Promise.all([a, b]), [{ kind: 'delivered' }, { kind: 'delivered' }]);
    assert.equal(network.capacity(), 2);
  });

  test('close() ends attempts waiting for their latency as unavailable and takes no more', async () => {
    const { network } = net([{ prefix: '44', latencyMs: 1000 }]);
    const p = network.deliver(to('441'));
    await network.close();
    assert.deepEqual(await p, { kind: 'unavailable' });
    assert.equal(network.capacity(), 0);
    assert.deepEqual(await network.deliver(to('441')), { kind: 'unavailable' });
  });
});

describe('SimulatedNetwork: MO', () => {
  test('originateMo encodes text and hands the message to the sink', async () => {
    const { network, sunk } = net([{ prefix: '44' }]);
    assert.equal(await network.originateMo({ from: '447012345678', to: '2000', text: 'Hi Bob' }), 'mo1');
    assert.deepEqual(sunk[0]!.source, { ton: 1, npi: 1, addr: '447012345678' });
    assert.deepEqual(sunk[0]!.destination, { ton: 0, npi: 1, addr: '2000' });
    assert.equal(sunk[0]!.dataCoding, 0);
    assert.equal(sunk[0]!.esmClass, 0);
    assert.equal(decodeGsm7(sunk[0]!.payload), 'Hi Bob');
    await network.originateMo({ from: '+447012345678', to: { ton: 3, npi: 9, addr: '30' }, text: 'Привет' });
    assert.deepEqual(sunk[1]!.source, { ton: 1, npi: 1, addr: '447012345678' });
    assert.deepEqual(sunk[1]!.destination, { ton: 3, npi: 9, addr: '30' });
    assert.equal(sunk[1]!.dataCoding, 8);
    assert.equal(sunk[1]!.payload.toString('utf16le').length, 6);
    await network.originateMo({ from: 'ACME', to: '2000', payload: Buffer.from([5, 0, 3, 1, 2, 1, 0x41]), esmClass: 0x40 });
    assert.deepEqual(sunk[2]!.source, { ton: 5, npi: 0, addr: 'ACME' });
    assert.equal(sunk[2]!.dataCoding, 4);
    assert.equal(sunk[2]!.esmClass, 0x40);
    assert.equal(network.stats.moOriginated, 3);
  });

  test('originateMo refuses bad input and reports sink failures', async () => {
    const { network } = net([{ prefix: '44' }]);
    await assert.rejects(network.originateMo({ from: '1', to: '2' }), RangeError);
    await assert.rejects(network.originateMo({ from: '1', to: '2', text: 'a', payload: Buffer.alloc(1) }), RangeError);
    const bare = new SimulatedNetwork({ ranges: [] });
    await assert.rejects(bare.originateMo({ from: '1', to: '2', text: 'a' }), /no MO sink/);
    bare.setMoSink(async () => {
      throw new Error('store down');
    });
    await assert.rejects(bare.originateMo({ from: '1', to: '2', text: 'a' }), /store down/);
    assert.equal(bare.stats.moFailed, 1);
  });

  test('the generator sends at the configured rate, fills patterns, and stops', async () => {
    const { clock, network, sunk } = net([{ prefix: '44' }]);
    const g = network.startMoGenerator({ ratePerSecond: 20, from: '4470xxxxxxxx', to: ['2000', '3000'], text: 'load {n}' });
    clock.advance(1000);
    await flush();
    assert.equal(sunk.length, 20);
    assert.equal(g.stats.accepted, 20);
    for (const mo of sunk) {
      assert.match(mo.source.addr, /^4470\d{8}$/);
      assert.ok(['2000', '3000'].includes(mo.destination.addr));
    }
    assert.equal(decodeGsm7(sunk[4]!.payload), 'load 5');
    assert.ok(new Set(sunk.map((m) => m.source.addr)).size > 15, 'random numbers differ');
    clock.advance(500);
    assert.equal(sunk.length, 30);
    await g.stop();
    assert.equal(g.running, false);
    clock.advance(10_000);
    assert.equal(sunk.length, 30, 'nothing after stop()');
    assert.equal(clock.pending, 0, 'no timer left');
  });

  test('the generator honours fractional rates and a total', async () => {
    const { clock, network, sunk } = net([{ prefix: '44' }]);
    const g = network.startMoGenerator({ ratePerSecond: 0.5, from: '1', to: '2', total: 3 });
    clock.advance(1999);
    assert.equal(sunk.length, 0);
    clock.advance(1);
    assert.equal(sunk.length, 1);
    clock.advance(60_000);
    assert.equal(sunk.length, 3);
    assert.equal(g.running, false, 'stopped by itself at total');
    assert.equal(clock.pending, 0);
  });

  test('the generator is bounded: with the sink stuck, at most maxInFlight calls, the rest skipped', async () => {
    const clock = new ManualClock(T0);
    const waiting: (() => void)[] = [];
    const network = new SimulatedNetwork({
      ranges: [],
      clock,
      seed: 1,
      moSink: () =>
        new Promise<string>((resolve) => {
          waiting.push(() => resolve('x'));
        }),
    });
    const g = network.startMoGenerator({ ratePerSecond: 100, from: '1', to: '2', maxInFlight: 3 });
    clock.advance(1000);
    assert.equal(waiting.length, 3);
    assert.equal(g.stats.sent, 3);
    assert.equal(g.stats.skipped, 97);
    for (const w of waiting.splice(0)) w();
    await flush();
    clock.advance(100);
    assert.equal(waiting.length, 3, 'room again after the sink answered');
    const stopped = g.stop();
    for (const w of waiting.splice(0)) w();
    await stopped;
    assert.equal(g.stats.accepted, 6);
  });

  test('close() stops every generator', async () => {
    const { clock, network, sunk } = net([{ prefix: '44' }]);
    const g = network.startMoGenerator({ ratePerSecond: 10, from: '1', to: '2' });
    await network.close();
    assert.equal(g.running, false);
    clock.advance(5000);
    assert.equal(sunk.length, 0);
    assert.throws(() => network.startMoGenerator({ ratePerSecond: 1, from: '1', to: '2' }));
  });
});

describe('parseNetwork', () => {
  test('a full config', () => {
    const cfg = parseNetwork(
      parseYaml(`
concurrency: 50
seed: 3
ranges:
  - { prefix: "4470", latencyMs: 200, latencyJitterMs: 300, latencyDistribution: exponential, successRatio: 0.9, failure: { absent: 3, unknown: 1 }, switchedOff: { ratio: 0.1, durationMs: 600000 } }
  - { prefix: "", successRatio: 0, failure: unknown }
mo: { ratePerSecond: 5, from: "4470xxxxxxxx", to: ["2000", "3000"], text: "MO {n}", total: 100 }
`),
    );
    assert.deepEqual(cfg, {
      concurrency: 50,
      seed: 3,
      ranges: [
        {
          prefix: '4470',
          latencyMs: 200,
          latencyJitterMs: 300,
          latencyDistribution: 'exponential',
          successRatio: 0.9,
          failure: { absent: 3, unknown: 1 },
          switchedOff: { ratio: 0.1, durationMs: 600000 },
        },
        { prefix: '', latencyMs: 0, latencyJitterMs: 0, successRatio: 0, failure: 'unknown' },
      ],
      mo: { ratePerSecond: 5, from: ['4470xxxxxxxx'], to: ['2000', '3000'], text: 'MO {n}', total: 100, maxInFlight: 100, tickMs: 100 },
    });
    assert.ok(new SimulatedNetwork(cfg));
  });

  test('errors name the key', () => {
    const fails = (raw: unknown, key: string, reason: RegExp) =>
      assert.throws(
        () => parseNetwork(raw),
        (e: unknown) => e instanceof ConfigKeyError && e.key === key && reason.test(e.reason),
        key,
      );
    fails(undefined, 'network', /mapping/);
    fails({}, 'network.ranges', /non-empty list/);
    fails({ ranges: [{ prefix: 4470 }] }, 'network.ranges[0].prefix', /quote/);
    fails({ ranges: [{ prefix: '1' }, { prefix: '1' }] }, 'network.ranges[1].prefix', /twice/);
    fails({ ranges: [{ prefix: '1', successRatio: 1.5 }] }, 'network.ranges[0].successRatio', /between 0 and 1/);
    fails({ ranges: [{ prefix: '1', latencyMs: -1 }] }, 'network.ranges[0].latencyMs', /between/);
    fails({ ranges: [{ prefix: '1', latencyDistribution: 'normal' }] }, 'network.ranges[0].latencyDistribution', /uniform or exponential/);
    fails({ ranges: [{ prefix: '1', failure: 'gone' }] }, 'network.ranges[0].failure', /one of absent/);
    fails({ ranges: [{ prefix: '1', failure: { gone: 1 } }] }, 'network.ranges[0].failure.gone', /one of/);
    fails({ ranges: [{ prefix: '1', failure: { absent: 0 } }] }, 'network.ranges[0].failure', /above 0/);
    fails({ ranges: [{ prefix: '1', switchedOff: { ratio: 0.1 } }] }, 'network.ranges[0].switchedOff.durationMs', /required/);
    fails({ ranges: [{ prefix: '1', offline: true }] }, 'network.ranges[0].offline', /unknown key/);
    fails({ ranges: [{ prefix: '1' }], concurrency: 0 }, 'network.concurrency', /between/);
    fails({ ranges: [{ prefix: '1' }], mo: { from: '1', to: '2' } }, 'network.mo.ratePerSecond', /required/);
    fails({ ranges: [{ prefix: '1' }], mo: { ratePerSecond: 1, to: '2' } }, 'network.mo.from', /required/);
    fails({ ranges: [{ prefix: '1' }], mo: { ratePerSecond: 1, from: '1', to: [] } }, 'network.mo.to', /empty list/);
  });
});
