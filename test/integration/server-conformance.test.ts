/**
 * Socket-level conformance of the SMSC listener: docs/smpp-reference.md §9.1 (binding and
 * lifecycle, cases 1-17), §9.2 (wrong-state requests, 18-23) and the codec/session-level cases
 * of §9.3 (framing and malformed PDUs). A raw TCP peer writes bytes built with PduBuilder and
 * every answer is checked for its exact command, status, sequence number and length, and for
 * whether the session survives (an enquire_link round trip) or is closed.
 * Time is driven with a ManualClock; real time is used only as a guard against hangs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CommandId, type CommandName, CommandStatus as S } from '../../src/pdu/constants.js';
import type { Pdu } from '../../src/pdu/types.js';
import { hashPassword } from '../../src/server/accounts.js';
import type { Session } from '../../src/session/session.js';
import { SessionState } from '../../src/session/state.js';
import { deferred, tick, waitFor, withTimeout } from '../support/async.js';
import { buildPdu, headerOnly, PduBuilder, samplePdu } from '../support/pdu-builder.js';
import { RawPeer } from '../support/raw-peer.js';
import { ACCOUNTS, bindFrame, deliverBody, type Harness, SMSC_ID, startServer, submitBody } from '../support/server.js';

type StartOptions = Parameters<typeof startServer>[0];

/** Runs `fn` against a fresh server and always closes it. */
async function withServer(options: StartOptions, fn: (h: Harness) => Promise<void>): Promise<void> {
  const h = await startServer(options);
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

/** Asserts the next PDU is exactly `command` with `status` and `seq`; error responses must be header-only. */
async function expectResp(peer: RawPeer, command: CommandName, status: number, seq: number): Promise<Pdu & { bytes: Buffer }> {
  const { pdu, bytes } = await peer.next();
  assert.equal(pdu.command, command, `command (status 0x${pdu.commandStatus.toString(16)})`);
  assert.equal(pdu.commandStatus, status, `${command} status`);
  assert.equal(pdu.sequenceNumber, seq, `${command} sequence_number`);
  if (status !== 0) assert.equal(bytes.length, 16, `${command} with an error status is header-only`);
  return Object.assign(pdu, { bytes });
}

/** The session is alive: an enquire_link is answered and nothing else was pending. */
async function assertAlive(peer: RawPeer): Promise<void> {
  assert.deepEqual(await peer.roundTrip(), [], 'no PDU other than enquire_link_resp');
}

const submitFrame = (seq: number, body = submitBody(), status = 0): Buffer => body.build(CommandId.submit_sm, status, seq);

// ---- §9.1 binding and session lifecycle ---------------------------------------------------

describe('§9.1 binding and session lifecycle', () => {
  test('1. bind_transmitter OK: ROK, our system_id, sc_interface_version 0x34', () =>
    withServer({}, async (h) => {
      const peer = await h.peer();
      peer.send(bindFrame('transmitter', { sequenceNumber: 11 }));
      const resp = (await expectResp(peer, 'bind_transmitter_resp', S.ESME_ROK, 11)) as Pdu & { systemId: string };
      assert.equal(resp.systemId, SMSC_ID);
      assert.deepEqual((resp as { tlvs: object }).tlvs, { scInterfaceVersion: 0x34 });
      await assertAlive(peer);
      assert.equal(h.server.sessionsOf('esme1').length, 1);
      assert.equal(h.server.receiversOf('esme1').length, 0, 'a transmitter is not a receiver');
      peer.destroy();
    }));

  test('2. bind_receiver OK: deliveries arrive on it, submits are refused', () =>
    withServer({}, async (h) => {
      const { peer, session } = await h.boundPeer('receiver');
      assert.deepEqual(h.server.receiversOf('esme1'), [session]);
      const delivered = session.request('deliver_sm', deliverBody('to receiver'));
      const dsm = await peer.expect('deliver_sm');
      assert.equal(dsm.sequenceNumber, 1, 'the SMSC numbers its first request 1');
      assert.equal(dsm.shortMessage.toString('latin1'), 'to receiver');
      assert.equal(dsm.sourceAddr, '4670000009');
      peer.send(new PduBuilder().cstring('').build(CommandId.deliver_sm_resp, 0, dsm.sequenceNumber));
      const resp = await delivered;
      assert.equal(resp.command, 'deliver_sm_resp');
      peer.send(submitFrame(5));
      await expectResp(peer, 'submit_sm_resp', S.ESME_RINVBNDSTS, 5);
      assert.equal(h.seen.length, 0, 'no submit handler ran');
      await assertAlive(peer);
      peer.destroy();
    }));

  test('3. bind_transceiver OK: submit and deliver on the one connection', () =>
    withServer({}, async (h) => {
      const { peer, session } = await h.boundPeer('transceiver');
      peer.send(submitFrame(2));
      const sr = (await expectResp(peer, 'submit_sm_resp', S.ESME_ROK, 2)) as Pdu & { messageId: string };
      assert.equal(sr.messageId, 'm1');
      const delivered = session.request('deliver_sm', deliverBody('to trx'));
      const dsm = await peer.expect('deliver_sm');
      peer.send(new PduBuilder().cstring('').build(CommandId.deliver_sm_resp, 0, dsm.sequenceNumber));
      assert.equal((await delivered).commandStatus, 0);
      await assertAlive(peer);
      peer.destroy();
    }));

  test('4. interface_version 0x33: no sc_interface_version, no TLV ever sent', () =>
    withServer({}, async (h) => {
      const peer = await h.peer();
      const bound = h.nextBound();
      peer.send(bindFrame('transceiver', { interfaceVersion: 0x33, sequenceNumber: 3 }));
      const resp = await expectResp(peer, 'bind_transceiver_resp', S.ESME_ROK, 3);
      assert.equal(resp.bytes.length, 16 + SMSC_ID.length + 1, 'body is system_id only');
      assert.deepEqual((resp as { tlvs: object }).tlvs, {});
      const session = await bound;
      const delivered = session.request(
        'deliver_sm',
        deliverBody('id:1 stat:DELIVRD', { esmClass: 0x04, tlvs: { receiptedMessageId: 'abc', messageState: 2 } }),
      );
      const dsm = await peer.expect('deliver_sm');
      assert.deepEqual(dsm.tlvs, {}, 'TLVs are stripped for a 3.3 peer');
      // service_type, ton/npi, source_addr, ton/npi, destination_addr, esm_class..priority_flag,
      // two NULL times, registered_delivery..sm_default_msg_id, sm_length, short_message
      const mandatory = 1 + 2 + 11 + 2 + 5 + 3 + 2 + 4 + 1 + 'id:1 stat:DELIVRD'.length;
      assert.equal(dsm.bytes.length, 16 + mandatory, 'no octet after short_message');
      peer.send(headerOnly(CommandId.deliver_sm_resp, 0, dsm.sequenceNumber));
      await delivered;
      peer.destroy();
    }));

  for (const [version, expected] of [
    [0x34, 0x34],
    [0x50, 0x50],
    [0x40, 0x34],
  ] as const) {
    test(`5. interface_version 0x${version.toString(16)}: sc_interface_version 0x${expected.toString(16)}`, () =>
      withServer({}, async (h) => {
        const peer = await h.peer();
        peer.send(bindFrame('transceiver', { interfaceVersion: version, sequenceNumber: 4 }));
        const resp = await expectResp(peer, 'bind_transceiver_resp', S.ESME_ROK, 4);
        assert.deepEqual((resp as { tlvs: object }).tlvs, { scInterfaceVersion: expected });
        await assertAlive(peer);
        peer.destroy();
      }));
  }

  test('6. wrong password: ESME_RINVPASWD, header-only, closed, no session', () =>
    withServer({}, async (h) => {
      const peer = await h.peer();
      peer.send(bindFrame('transmitter', { password: 'wrong', sequenceNumber: 6 }));
      await expectResp(peer, 'bind_transmitter_resp', S.ESME_RINVPASWD, 6);
      await peer.closed();
      assert.equal(h.server.sessionsOf('esme1').length, 0);
    }));

  test('6b. wrong password with credentialStatus configured: ESME_RBINDFAIL', () =>
    withServer({ credentialStatus: { wrongPassword: 'ESME_RBINDFAIL', unknownSystemId: 'ESME_RBINDFAIL' } }, async (h) => {
      const peer = await h.peer();
      peer.send(bindFrame('transceiver', { password: 'wrong', sequenceNumber: 6 }));
      await expectResp(peer, 'bind_transceiver_resp', S.ESME_RBINDFAIL, 6);
      await peer.closed();
      const peer2 = await h.peer();
      peer2.send(bindFrame('transceiver', { systemId: 'nobody', sequenceNumber: 7 }));
      await expectResp(peer2, 'bind_transceiver_resp', S.ESME_RBINDFAIL, 7);
      await peer2.closed();
    }));

  test('7. unknown system_id: ESME_RINVSYSID, closed', () =>
    withServer({}, async (h) => {
      const peer = await h.peer();
      peer.send(bindFrame('receiver', { systemId: 'nobody', sequenceNumber: 8 }));
      await expectResp(peer, 'bind_receiver_resp', S.ESME_RINVSYSID, 8);
      await peer.closed();
      assert.equal(h.server.sessions.size, 0);
    }));

  for (const [field, bind, status] of [
    ['system_id of 16 characters', { systemId: 'abcdefghijklmnop' }, S.ESME_RINVSYSID],
    ['password of 9 characters', { password: 'ninechars' }, S.ESME_RINVPASWD],
    ['system_type of 13 characters', { systemType: 'thirteenchars' }, S.ESME_RINVSYSTYP],
  ] as const) {
    test(`8. ${field}: 0x${status.toString(16)}, not bound, closed, counted for the back-off`, () =>
      withServer({ failedBindBackoff: { threshold: 2, banMs: 5000 } }, async (h) => {
        for (let i = 0; i < 2; i++) {
          const peer = await h.peer();
          peer.send(bindFrame('transmitter', { ...bind, sequenceNumber: 9 + i }));
          await expectResp(peer, 'bind_transmitter_resp', status, 9 + i);
          await peer.closed();
          assert.equal(h.server.sessionsOf('esme1').length, 0);
        }
        // Two malformed binds from this address: the next, well-formed one is refused too.
        const banned = await h.peer();
        banned.send(bindFrame('transmitter', { sequenceNumber: 11 }));
        await expectResp(banned, 'bind_transmitter_resp', S.ESME_RBINDFAIL, 11);
        await banned.closed();
      }));
  }

  test('9. max binds exceeded: ESME_RBINDFAIL, existing session unaffected', () =>
    withServer({ accounts: [{ systemId: 'esme1', password: 'secret1', maxBinds: 1 }] }, async (h) => {
      const { peer: first } = await h.boundPeer('transmitter');
      const second = await h.peer();
      second.send(bindFrame('transmitter', { sequenceNumber: 21 }));
      await expectResp(second, 'bind_transmitter_resp', S.ESME_RBINDFAIL, 21);
      await second.closed();
      await assertAlive(first);
      first.send(submitFrame(22));
      await expectResp(first, 'submit_sm_resp', S.ESME_ROK, 22);
      assert.equal(h.server.sessionsOf('esme1').length, 1);
      // The limit is per bind type: a receiver still fits.
      const { peer: rx } = await h.boundPeer('receiver');
      assert.equal(h.server.sessionsOf('esme1').length, 2);
      first.destroy();
      rx.destroy();
    }));

  test('9b. a closed session frees its bind slot', () =>
    withServer({ accounts: [{ systemId: 'esme1', password: 'secret1', maxBinds: 1 }] }, async (h) => {
      const { peer: first, session } = await h.boundPeer('transceiver');
      first.destroy();
      await session.closed();
      const { peer: again } = await h.boundPeer('transceiver');
      await assertAlive(again);
      again.destroy();
    }));

  test('10. second bind on a bound session: ESME_RALYBND, bind type unchanged', () =>
    withServer({}, async (h) => {
      const { peer, session } = await h.boundPeer('transmitter');
      peer.send(bindFrame('receiver', { sequenceNumber: 31 }));
      await expectResp(peer, 'bind_receiver_resp', S.ESME_RALYBND, 31);
      assert.equal(session.state, SessionState.BoundTx);
      assert.equal(session.bindType, 'transmitter');
      assert.equal(h.server.receiversOf('esme1').length, 0);
      peer.send(submitFrame(32));
      await expectResp(peer, 'submit_sm_resp', S.ESME_ROK, 32);
      peer.destroy();
    }));

  test('11. session_init_timer closes an unbound connection, enquire_links do not keep it', () =>
    withServer({ session: { sessionInitTimeoutMs: 5000 } }, async (h) => {
      const accepted = deferred<Session>();
      h.server.once('session', (s: Session) => accepted.resolve(s));
      const peer = await h.peer();
      await accepted.promise;
      h.clock.advance(4999);
      await assertAlive(peer);
      h.clock.advance(1);
      await peer.closed();
    }));

  test('11b. session_init_timer does not fire once bound', () =>
    withServer({ session: { sessionInitTimeoutMs: 5000 } }, async (h) => {
      const { peer } = await h.boundPeer('transceiver');
      h.clock.advance(60_000);
      await assertAlive(peer);
      peer.destroy();
    }));

  test('12. enquire_link in OPEN: enquire_link_resp ROK, 16 octets', () =>
    withServer({}, async (h) => {
      const peer = await h.peer();
      peer.send(headerOnly(CommandId.enquire_link, 0, 0x1234));
      const r = await expectResp(peer, 'enquire_link_resp', S.ESME_ROK, 0x1234);
      assert.equal(r.bytes.length, 16);
      peer.destroy();
    }));

  test('13. enquire_link while bound: ROK, sequence echoed', () =>
    withServer({}, async (h) => {
      const { peer } = await h.boundPeer('transceiver');
      peer.send(headerOnly(CommandId.enquire_link, 0, 0x7ffffffe));
      const r = await expectResp(peer, 'enquire_link_resp', S.ESME_ROK, 0x7ffffffe);
      assert.equal(r.bytes.length, 16);
      peer.destroy();
    }));

  test('14. ESME unbind: unbind_resp ROK, then the SMSC closes TCP', () =>
    withServer({}, async (h) => {
      const { peer, session } = await h.boundPeer('transceiver');
      const unbound = deferred<Session>();
      h.server.once('unbound', (s: Session) => unbound.resolve(s));
      peer.send(headerOnly(CommandId.unbind, 0, 41));
      const r = await expectResp(peer, 'unbind_resp', S.ESME_ROK, 41);
      assert.equal(r.bytes.length, 16);
      await peer.closed();
      assert.equal(await session.closed(), undefined, 'a clean unbind closes without error');
      assert.equal(await unbound.promise, session);
      assert.equal(h.server.sessionsOf('esme1').length, 0);
    }));

  test('15. SMSC-initiated unbind (server.close): unbind, unbind_resp accepted, closed', () =>
    withServer({}, async (h) => {
      const { peer } = await h.boundPeer('transceiver');
      const closing = h.server.close();
      const unbind = await peer.expect('unbind');
      assert.equal(unbind.bytes.length, 16);
      peer.send(headerOnly(CommandId.unbind_resp, 0, unbind.sequenceNumber));
      await peer.closed();
      await closing;
    }));

  test('15b. SMSC-initiated unbind without unbind_resp: closed after response_timer', () =>
    withServer({ session: { responseTimeoutMs: 7000 } }, async (h) => {
      const { peer, session } = await h.boundPeer('transceiver');
      let done = false;
      const closing = h.server.close().then(() => {
        done = true;
      });
      await peer.expect('unbind');
      h.clock.advance(6999);
      await tick();
      assert.equal(session.state, SessionState.Unbinding);
      assert.equal(done, false);
      h.clock.advance(1);
      await peer.closed();
      await closing;
    }));


  test('a connection gone while its bind is being checked keeps no bind slot', async () => {
    const gate = deferred();
    let asked = false;
    const accounts = async (id: string) => {
      asked = true;
      await gate.promise;
      return ACCOUNTS.find((a) => a.systemId === id);
    };
    await withServer({ accounts }, async (h) => {
      const peer = await h.peer();
      peer.send(bindFrame('receiver', { sequenceNumber: 3 }));
      await waitFor(() => asked, 'the account lookup');
      peer.destroy();
      await waitFor(() => h.server.sessions.size === 0, 'the session closed');
      gate.resolve();
      await tick();
      await tick();
      assert.equal(h.server.sessionsOf('esme1').length, 0, 'no slot reserved for a closed session');
    });
  });

  test('15c. a receiver the SMSC is unbinding takes no more deliveries (receiversOf follows its state)', () =>
    withServer({ session: { responseTimeoutMs: 7000 } }, async (h) => {
      const { peer, session } = await h.boundPeer('receiver');
      assert.deepEqual(h.server.receiversOf('esme1'), [session]);
      const unbinding = session.unbind();
      await peer.expect('unbind');
      assert.equal(session.state, SessionState.Unbinding);
      assert.deepEqual(h.server.receiversOf('esme1'), [], 'still listed while the unbind is under way');
      h.clock.advance(7000);
      await unbinding.catch(() => {});
      await peer.closed();
      assert.deepEqual(h.server.receiversOf('esme1'), []);
    }));
  test('16. enquire_link_timer: idle SMSC sends enquire_link; a dead peer is dropped after response_timer', () =>
    withServer({ session: { enquireLinkIntervalMs: 30_000, responseTimeoutMs: 10_000 } }, async (h) => {
      const { peer, session } = await h.boundPeer('transceiver');
      h.clock.advance(30_000);
      const el = await peer.expect('enquire_link');
      assert.equal(el.bytes.length, 16);
      peer.send(headerOnly(CommandId.enquire_link_resp, 0, el.sequenceNumber));
      await assertAlive(peer);
      h.clock.advance(10_000);
      await tick();
      assert.equal(session.isBound, true, 'an answered enquire_link keeps the session');
      h.clock.advance(20_000);
      const el2 = await peer.expect('enquire_link');
      assert.notEqual(el2.sequenceNumber, el.sequenceNumber);
      h.clock.advance(9_999);
      await tick();
      assert.equal(session.isBound, true);
      h.clock.advance(1);
      await peer.closed();
      assert.ok((await session.closed()) instanceof Error, 'dropped with an error');
    }));

  test('16b. enquire_link_timer is reset by traffic: no enquire_link while the peer is active', () =>
    withServer({ session: { enquireLinkIntervalMs: 30_000 } }, async (h) => {
      const { peer } = await h.boundPeer('transceiver');
      for (let i = 0; i < 5; i++) {
        h.clock.advance(20_000);
        await assertAlive(peer); // our own traffic every 20 s: the SMSC never needs to ask
      }
      h.clock.advance(30_000);
      await peer.expect('enquire_link');
      peer.destroy();
    }));

  test('17. inactivity_timer: no transaction for the configured time unbinds', () =>
    withServer({ session: { inactivityTimeoutMs: 60_000 } }, async (h) => {
      const { peer, session } = await h.boundPeer('transceiver');
      h.clock.advance(30_000);
      peer.send(submitFrame(51)); // a transaction resets the timer
      await expectResp(peer, 'submit_sm_resp', S.ESME_ROK, 51);
      h.clock.advance(59_999);
      await assertAlive(peer); // enquire_link is not a transaction...
      h.clock.advance(1);
      const unbind = await peer.expect('unbind');
      peer.send(headerOnly(CommandId.unbind_resp, 0, unbind.sequenceNumber));
      await peer.closed();
      assert.equal(await session.closed(), undefined);
    }));
});

// ---- other bind policies ------------------------------------------------------------------

describe('bind policies', () => {
  test('IP not in allowedIps: ESME_RBINDFAIL; an allowed range binds', () =>
    withServer(
      {
        accounts: [
          { systemId: 'esme1', password: 'secret1', allowedIps: ['10.0.0.0/8'] },
          { systemId: 'esme2', password: 'secret2', allowedIps: ['10.0.0.0/8', '127.0.0.0/8'] },
        ],
      },
      async (h) => {
        const peer = await h.peer();
        peer.send(bindFrame('transceiver', { sequenceNumber: 61 }));
        await expectResp(peer, 'bind_transceiver_resp', S.ESME_RBINDFAIL, 61);
        await peer.closed();
        const { peer: ok } = await h.boundPeer('transceiver', { systemId: 'esme2', password: 'secret2' });
        ok.destroy();
      },
    ));

  test('allowedSystemTypes: another system_type gets ESME_RINVSYSTYP', () =>
    withServer({ accounts: [{ systemId: 'esme1', password: 'secret1', allowedSystemTypes: ['VMS'] }] }, async (h) => {
      const peer = await h.peer();
      peer.send(bindFrame('transceiver', { systemType: 'OTA', sequenceNumber: 62 }));
      await expectResp(peer, 'bind_transceiver_resp', S.ESME_RINVSYSTYP, 62);
      await peer.closed();
      const { peer: ok } = await h.boundPeer('transceiver', { systemType: 'VMS' });
      ok.destroy();
    }));

  test('failed-bind back-off: refusals of policy (bind limit, disabled account, system_type) do not count, only credentials', () =>
    withServer(
      {
        failedBindBackoff: { threshold: 2, banMs: 5000 },
        accounts: [
          { systemId: 'esme1', password: 'secret1', maxBinds: 1 },
          { systemId: 'off', password: 'secret1', disabled: true },
          { systemId: 'vms', password: 'secret1', allowedSystemTypes: ['VMS'] },
        ],
      },
      async (h) => {
        const { peer: first } = await h.boundPeer('transmitter');
        // An ESME rebinding after a network cut while its old session lingers: refused, again and again.
        const refusals: [Parameters<typeof bindFrame>[1], number][] = [
          [{}, S.ESME_RBINDFAIL],
          [{}, S.ESME_RBINDFAIL],
          [{ systemId: 'off' }, S.ESME_RBINDFAIL],
          [{ systemId: 'vms', systemType: 'OTA' }, S.ESME_RINVSYSTYP],
        ];
        for (const [i, [bind, status]] of refusals.entries()) {
          const peer = await h.peer();
          peer.send(bindFrame('transmitter', { ...bind, sequenceNumber: 80 + i }));
          await expectResp(peer, 'bind_transmitter_resp', status, 80 + i);
          await peer.closed();
        }
        // Not banned: a bind of another type, and one of the same type once the slot is free.
        const { peer: rx } = await h.boundPeer('receiver');
        first.destroy();
        await waitFor(() => h.server.sessionsOf('esme1').length === 1, 'the old session gone');
        const { peer: again } = await h.boundPeer('transmitter');
        await assertAlive(again);
        rx.destroy();
        again.destroy();
      },
    ));

  test('a handler that fails is answered ESME_RSYSERR and said: the server emits requestFailed with the error', () =>
    withServer({ handlers: { onSubmitSm: () => Promise.reject(new Error('disk I/O error')) } }, async (h) => {
      const failures: [string, string, string | undefined][] = [];
      h.server.on('requestFailed', (err: Error, req: Pdu, ctx: { systemId: string } | undefined) => failures.push([err.message, req.command, ctx?.systemId]));
      const { peer } = await h.boundPeer('transmitter');
      peer.send(submitFrame(90));
      await expectResp(peer, 'submit_sm_resp', S.ESME_RSYSERR, 90);
      assert.deepEqual(failures, [['disk I/O error', 'submit_sm', 'esme1']]);
      await assertAlive(peer);
      peer.destroy();
    }));

  test('failed-bind back-off per IP: banned after the threshold (and said), allowed again after banMs', () =>
    withServer({ failedBindBackoff: { threshold: 2, banMs: 5000 } }, async (h) => {
      const bans: unknown[][] = [];
      h.server.on('bindBan', (...args: unknown[]) => bans.push(args));
      for (let i = 0; i < 2; i++) {
        const bad = await h.peer();
        bad.send(bindFrame('transceiver', { password: 'wrong', sequenceNumber: 70 + i }));
        await expectResp(bad, 'bind_transceiver_resp', S.ESME_RINVPASWD, 70 + i);
        await bad.closed();
      }
      const banned = await h.peer();
      banned.send(bindFrame('transceiver', { sequenceNumber: 72 }));
      await expectResp(banned, 'bind_transceiver_resp', S.ESME_RBINDFAIL, 72);
      await banned.closed();
      assert.equal(h.server.sessionsOf('esme1').length, 0);
      assert.deepEqual(bans, [['127.0.0.1', 2, 5000]], 'the ban is said once');
      h.clock.advance(4999);
      const stillBanned = await h.peer();
      stillBanned.send(bindFrame('transceiver', { sequenceNumber: 73 }));
      await expectResp(stillBanned, 'bind_transceiver_resp', S.ESME_RBINDFAIL, 73);
      await stillBanned.closed();
      h.clock.advance(1);
      const { peer } = await h.boundPeer('transceiver');
      await assertAlive(peer);
      peer.destroy();
    }));

  test('failed-bind back-off counts failures within banMs of each other: spread-out ones never ban', () =>
    withServer({ failedBindBackoff: { threshold: 2, banMs: 5000 } }, async (h) => {
      for (let i = 0; i < 2; i++) {
        if (i > 0) h.clock.advance(5001);
        const bad = await h.peer();
        bad.send(bindFrame('transceiver', { password: 'wrong', sequenceNumber: 80 + i }));
        await expectResp(bad, 'bind_transceiver_resp', S.ESME_RINVPASWD, 80 + i);
        await bad.closed();
      }
      // Two failures, but not within banMs of each other: no ban.
      const { peer } = await h.boundPeer('transceiver');
      await assertAlive(peer);
      peer.destroy();
    }));

  test('failed-bind back-off holds against wrong binds sent all at once to a hashed account: checked one at a time per address', () =>
    withServer(
      { failedBindBackoff: { threshold: 3, banMs: 5000 }, accounts: [{ systemId: 'esme1', passwordHash: hashPassword('secret1') }] },
      async (h) => {
        const peers = await Promise.all(Array.from({ length: 12 }, () => h.peer()));
        for (const [i, p] of peers.entries()) p.send(bindFrame('transceiver', { password: 'wrong', sequenceNumber: 200 + i }));
        const statuses = await Promise.all(peers.map(async (p) => (await p.next()).pdu.commandStatus));
        assert.equal(statuses.filter((st) => st === S.ESME_RINVPASWD).length, 3, 'three passwords checked, then the ban');
        assert.equal(statuses.filter((st) => st === S.ESME_RBINDFAIL).length, 9);
        for (const p of peers) p.destroy();
      },
    ));

  test("failed-bind back-off: a good bind of one account does not clear the address's failures at another's password", () =>
    withServer({ failedBindBackoff: { threshold: 2, banMs: 5000 } }, async (h) => {
      const bad = await h.peer();
      bad.send(bindFrame('transceiver', { systemId: 'esme2', password: 'guess1', sequenceNumber: 90 }));
      await expectResp(bad, 'bind_transceiver_resp', S.ESME_RINVPASWD, 90);
      const { peer: own } = await h.boundPeer('transceiver'); // esme1, right password
      const again = await h.peer();
      again.send(bindFrame('transceiver', { systemId: 'esme2', password: 'guess2', sequenceNumber: 91 }));
      await expectResp(again, 'bind_transceiver_resp', S.ESME_RINVPASWD, 91);
      const banned = await h.peer();
      banned.send(bindFrame('transceiver', { systemId: 'esme2', password: 'secret2', sequenceNumber: 92 }));
      await expectResp(banned, 'bind_transceiver_resp', S.ESME_RBINDFAIL, 92);
      for (const p of [bad, own, again, banned]) p.destroy();
    }));

  test('maxUnboundPerIp: connections from one address beyond it that have not bound are closed; bound ones do not count', () =>
    withServer({ maxUnboundPerIp: 2 }, async (h) => {
      const { peer: boundOne } = await h.boundPeer('transceiver');
      const idle = [await h.peer(), await h.peer()];
      const extra = await h.peer();
      await extra.closed();
      for (const p of idle) assert.equal(p.isClosed, false);
      await assertAlive(boundOne);
      idle[0]!.destroy();
      await waitFor(() => h.server.sessions.size === 2, 'the idle one gone');
      const { peer: later } = await h.boundPeer('transceiver');
      for (const p of [boundOne, idle[1]!, later]) p.destroy();
    }));

  test('maxConnections: the connection over the limit is closed, the others keep working', () =>
    withServer({ maxConnections: 1 }, async (h) => {
      const { peer: first } = await h.boundPeer('transceiver');
      const extra = await h.peer();
      await extra.closed();
      await assertAlive(first);
      first.destroy();
      await waitFor(() => h.server.sessions.size === 0, 'first session closed');
      const { peer: later } = await h.boundPeer('transceiver');
      later.destroy();
    }));
});

// ---- §9.2 wrong-state requests -----------------------------------------------------------

describe('§9.2 wrong-state requests', () => {
  test('18. submit_sm before bind: ESME_RINVBNDSTS, still OPEN, then a bind succeeds', () =>
    withServer({}, async (h) => {
      const peer = await h.peer();
      peer.send(submitFrame(81));
      await expectResp(peer, 'submit_sm_resp', S.ESME_RINVBNDSTS, 81);
      const bound = h.nextBound();
      peer.send(bindFrame('transceiver', { sequenceNumber: 82 }));
      await expectResp(peer, 'bind_transceiver_resp', S.ESME_ROK, 82);
      await bound;
      peer.send(submitFrame(83));
      await expectResp(peer, 'submit_sm_resp', S.ESME_ROK, 83);
      assert.equal(h.seen.length, 1, 'only the bound submit reached the handler');
      peer.destroy();
    }));

  test('19. submit-side requests on BOUND_RX: each answered ESME_RINVBNDSTS', () =>
    withServer({}, async (h) => {
      const { peer } = await h.boundPeer('receiver');
      const commands: CommandName[] = ['submit_sm', 'submit_multi', 'query_sm', 'cancel_sm', 'replace_sm', 'data_sm'];
      let seq = 90;
      for (const c of commands) {
        peer.send(buildPdu(samplePdu(c, ++seq)));
        await expectResp(peer, `${c}_resp` as CommandName, S.ESME_RINVBNDSTS, seq);
      }
      assert.equal(h.seen.length, 0, 'no handler ran');
      await assertAlive(peer);
      peer.destroy();
    }));

  test('19b. the same requests on BOUND_TX reach the handlers', () =>
    withServer({}, async (h) => {
      const { peer } = await h.boundPeer('transmitter');
      const commands: CommandName[] = ['submit_sm', 'submit_multi', 'query_sm', 'cancel_sm', 'replace_sm'];
      let seq = 100;
      for (const c of commands) {
        peer.send(buildPdu(samplePdu(c, ++seq)));
        await expectResp(peer, `${c}_resp` as CommandName, S.ESME_ROK, seq);
      }
      assert.deepEqual(
        h.seen.map((p) => p.command),
        commands,
      );
      peer.destroy();
    }));

  test('20. unbind in OPEN: unbind_resp ESME_RINVBNDSTS, session survives', () =>
    withServer({}, async (h) => {
      const peer = await h.peer();
      peer.send(headerOnly(CommandId.unbind, 0, 111));
      await expectResp(peer, 'unbind_resp', S.ESME_RINVBNDSTS, 111);
      await assertAlive(peer);
      peer.destroy();
    }));

  test('21. deliver_sm sent by an ESME: generic_nack ESME_RINVCMDID, session survives', () =>
    withServer({}, async (h) => {
      const { peer } = await h.boundPeer('transceiver');
      peer.send(submitBody().build(CommandId.deliver_sm, 0, 121));
      await expectResp(peer, 'generic_nack', S.ESME_RINVCMDID, 121);
      peer.send(new PduBuilder().cstring('smsc').cstring('pw').build(CommandId.outbind, 0, 122));
      await expectResp(peer, 'generic_nack', S.ESME_RINVCMDID, 122);
      await assertAlive(peer);
      peer.destroy();
    }));

  test('22. unsolicited deliver_sm_resp / enquire_link_resp / generic_nack: dropped, no answer', () =>
    withServer({}, async (h) => {
      const { peer } = await h.boundPeer('transceiver');
      peer.send(
        Buffer.concat([
          new PduBuilder().cstring('').build(CommandId.deliver_sm_resp, 0, 4242),
          headerOnly(CommandId.enquire_link_resp, 0, 4243),
          headerOnly(CommandId.generic_nack, S.ESME_RINVCMDID, 4244),
          headerOnly(CommandId.submit_sm_resp, 0, 4245),
        ]),
      );
      await assertAlive(peer);
      peer.destroy();
    }));

  test('23. TX-only session: not a receiver, nothing is sent on it', () =>
    withServer({ session: { enquireLinkIntervalMs: 0 } }, async (h) => {
      const { peer, session } = await h.boundPeer('transmitter');
      assert.equal(session.canDeliver, false);
      assert.deepEqual(h.server.receiversOf('esme1'), []);
      h.clock.advance(120_000);
      await assertAlive(peer);
      peer.destroy();
    }));

  test('23b. the SMSC session refuses to send deliver_sm on a TX bind [ref §6.2 "what the SMSC may send"]', () =>
    withServer({}, async (h) => {
      const { peer, session } = await h.boundPeer('transmitter');
      const sent = session.request('deliver_sm', deliverBody('must not leave'), { timeoutMs: 1000 });
      const outcome = sent.then(
        () => 'resolved',
        (e: Error) => e,
      );
      const before = await peer.roundTrip();
      assert.deepEqual(
        before.map((p) => p.command),
        [],
        'nothing may be sent on a transmitter session',
      );
      const settled = await withTimeout(outcome, 1000, 'deliver_sm on a TX session settles');
      assert.ok(settled instanceof Error, 'the request is refused locally');
      peer.destroy();
    }));
});

// ---- §9.3 framing and malformed PDUs -----------------------------------------------------

describe('§9.3 framing and malformed PDUs', () => {
  test('24. command_length = 8: generic_nack ESME_RINVCMDLEN (sequence from the header), then close', () =>
    withServer({}, async (h) => {
      const peer = await h.peer();
      peer.send(new PduBuilder().buildWithLength(8, CommandId.enquire_link, 0, 7));
      await expectResp(peer, 'generic_nack', S.ESME_RINVCMDLEN, 7);
      await peer.closed();
    }));

  test('24b. command_length = 8 with only 8 octets sent: generic_nack with sequence 0, then close', () =>
    withServer({}, async (h) => {
      const peer = await h.peer();
      peer.send(Buffer.from('0000000800000015', 'hex'));
      await expectResp(peer, 'generic_nack', S.ESME_RINVCMDLEN, 0);
      await peer.closed();
    }));

  for (const len of [0xffffffff, 0x7fffffff, 70_001]) {
    test(`25. command_length = 0x${len.toString(16)}: generic_nack ESME_RINVCMDLEN, close, server still serves`, () =>
      withServer({}, async (h) => {
        const { peer: other } = await h.boundPeer('transceiver');
        const before = process.memoryUsage().arrayBuffers;
        const peer = await h.peer();
        peer.send(new PduBuilder().buildWithLength(len, CommandId.submit_sm, 0, 9));
        await expectResp(peer, 'generic_nack', S.ESME_RINVCMDLEN, 9);
        await peer.closed();
        const grown = process.memoryUsage().arrayBuffers - before;
        assert.ok(grown < 16 * 1024 * 1024, `no large allocation (grew ${grown} octets)`);
        await assertAlive(other);
        const { peer: fresh } = await h.boundPeer('transceiver');
        await assertAlive(fresh);
        other.destroy();
        fresh.destroy();
      }));
  }

  test('25a. a bad command_length after a submit still being stored: generic_nack, the submit answered, then close', async () => {
    const gate = deferred();
    let asked = 0;
    const onSubmitSm = async (): Promise<{ messageId: string }> => {
      asked++;
      await gate.promise;
      return { messageId: 'stored-1' };
    };
    await withServer({ handlers: { onSubmitSm } }, async (h) => {
      const { peer, session } = await h.boundPeer('transceiver');
      peer.send(Buffer.concat([submitFrame(5), new PduBuilder().buildWithLength(0xffffffff, CommandId.submit_sm, 0, 9)]));
      await expectResp(peer, 'generic_nack', S.ESME_RINVCMDLEN, 9);
      assert.equal(asked, 1);
      assert.equal(session.state, SessionState.Unbinding, 'takes no deliveries while it closes');
      assert.deepEqual(h.server.receiversOf('esme1'), []);
      peer.send(submitFrame(6)); // read no more: the stream is out of sync
      gate.resolve();
      const resp = await expectResp(peer, 'submit_sm_resp', S.ESME_ROK, 5);
      assert.equal((resp as Pdu & { messageId: string }).messageId, 'stored-1');
      await peer.closed();
      assert.equal(asked, 1, 'nothing read after the bad frame');
    });
  });

  test('25c. a bad command_length with a handler that never ends: closed at the response timer', async () => {
    const onSubmitSm = (): Promise<{ messageId: string }> => new Promise(() => {});
    await withServer({ handlers: { onSubmitSm }, session: { responseTimeoutMs: 5000 } }, async (h) => {
      const { peer, session } = await h.boundPeer('transceiver');
      peer.send(Buffer.concat([submitFrame(5), new PduBuilder().buildWithLength(70_001, CommandId.submit_sm, 0, 9)]));
      await expectResp(peer, 'generic_nack', S.ESME_RINVCMDLEN, 9);
      h.clock.advance(4999);
      await tick();
      assert.equal(session.state, SessionState.Unbinding, 'still waiting for the submit');
      h.clock.advance(1);
      await peer.closed();
    });
  });

  test('25b. a PDU of exactly the maximum size (65536) is accepted', () =>
    withServer({}, async (h) => {
      const { peer } = await h.boundPeer('transceiver');
      peer.send(new PduBuilder().octets(Buffer.alloc(65536 - 16, 0x41)).build(0x99, 0, 131));
      await expectResp(peer, 'generic_nack', S.ESME_RINVCMDID, 131);
      await assertAlive(peer);
      peer.destroy();
    }));

  test('26. command_length beyond the bytes sent, then silence (unbound): closed by session_init_timer', () =>
    withServer({ session: { sessionInitTimeoutMs: 10_000 } }, async (h) => {
      const accepted = deferred<Session>();
      h.server.once('session', (s: Session) => accepted.resolve(s));
      const peer = await h.peer();
      const session = await accepted.promise;
      peer.send(new PduBuilder().octets(Buffer.alloc(4)).buildWithLength(100, CommandId.submit_sm, 0, 141));
      await tick();
      h.clock.advance(9_999);
      await tick();
      assert.equal(peer.isClosed, false);
      assert.equal(peer.queued, 0, 'nothing answered');
      h.clock.advance(1);
      await peer.closed();
      assert.ok((await session.closed()) instanceof Error);
    }));

  test('26b. command_length beyond the bytes sent while bound: enquire_link unanswered, dropped', () =>
    withServer({ session: { enquireLinkIntervalMs: 30_000, responseTimeoutMs: 10_000 } }, async (h) => {
      const { peer, session } = await h.boundPeer('transceiver');
      peer.send(new PduBuilder().octets(Buffer.alloc(4)).buildWithLength(100, CommandId.submit_sm, 0, 142));
      await tick();
      h.clock.advance(30_000);
      const el = await peer.expect('enquire_link');
      // Our answer is swallowed by the half-received PDU on the SMSC side.
      peer.send(headerOnly(CommandId.enquire_link_resp, 0, el.sequenceNumber));
      await tick();
      h.clock.advance(10_000);
      await peer.closed();
      assert.ok((await session.closed()) instanceof Error);
    }));

  test('27. two PDUs in one segment, and one PDU split over three segments', () =>
    withServer({}, async (h) => {
      const { peer } = await h.boundPeer('transceiver');
      peer.send(Buffer.concat([headerOnly(CommandId.enquire_link, 0, 151), headerOnly(CommandId.enquire_link, 0, 152)]));
      await expectResp(peer, 'enquire_link_resp', S.ESME_ROK, 151);
      await expectResp(peer, 'enquire_link_resp', S.ESME_ROK, 152);
      const frame = submitFrame(153, submitBody({ shortMessage: Buffer.from('split in three', 'latin1') }));
      for (const [a, b] of [
        [0, 3],
        [3, 20],
        [20, frame.length],
      ] as const) {
        peer.write(frame.subarray(a, b));
        await new Promise((r) => setTimeout(r, 5));
      }
      await expectResp(peer, 'submit_sm_resp', S.ESME_ROK, 153);
      const got = h.seen[0] as Pdu & { shortMessage: Buffer; destinationAddr: string; sourceAddr: string };
      assert.equal(got.shortMessage.toString('latin1'), 'split in three');
      assert.equal(got.sourceAddr, '4670000001');
      assert.equal(got.destinationAddr, '4670000002');
      peer.destroy();
    }));

  test('28. unknown command_id 0x99 with a body: generic_nack ESME_RINVCMDID, next PDU processed', () =>
    withServer({}, async (h) => {
      const { peer } = await h.boundPeer('transceiver');
      peer.send(
        Buffer.concat([new PduBuilder().hex('0102030405060708090a').build(0x99, 0, 161), headerOnly(CommandId.enquire_link, 0, 162)]),
      );
      await expectResp(peer, 'generic_nack', S.ESME_RINVCMDID, 161);
      await expectResp(peer, 'enquire_link_resp', S.ESME_ROK, 162);
      peer.destroy();
    }));

  test('28a. unknown command_id in the response range (0x80000099): generic_nack ESME_RINVCMDID, next PDU processed', () =>
    withServer({}, async (h) => {
      const { peer } = await h.boundPeer('transceiver');
      peer.send(Buffer.concat([new PduBuilder().hex('0102').build(0x80000099, 0, 164), headerOnly(CommandId.enquire_link, 0, 165)]));
      await expectResp(peer, 'generic_nack', S.ESME_RINVCMDID, 164);
      await expectResp(peer, 'enquire_link_resp', S.ESME_ROK, 165);
      peer.destroy();
    }));

  test('28b. 5.0 broadcast_sm (unsupported by default): generic_nack ESME_RINVCMDID', () =>
    withServer({}, async (h) => {
      const { peer } = await h.boundPeer('transceiver', { interfaceVersion: 0x50 });
      peer.send(buildPdu(samplePdu('broadcast_sm', 163)));
      await expectResp(peer, 'generic_nack', S.ESME_RINVCMDID, 163);
      // A malformed one too (a truncated body): not supported is the answer, not its length.
      peer.send(new PduBuilder().cstring('').u8(1).build(CommandId.broadcast_sm, 0, 164));
      await expectResp(peer, 'generic_nack', S.ESME_RINVCMDID, 164);
      await assertAlive(peer);
      peer.destroy();
    }));

  test('29. truncated submit_sm (ends after source_addr): ESME_RINVCMDLEN', () =>
    withServer({}, async (h) => {
      const { peer } = await h.boundPeer('transceiver');
      peer.send(new PduBuilder().cstring('').u8(1).u8(1).cstring('4670000001').build(CommandId.submit_sm, 0, 171));
      await expectResp(peer, 'submit_sm_resp', S.ESME_RINVCMDLEN, 171);
      assert.equal(h.seen.length, 0);
      await assertAlive(peer);
      peer.destroy();
    }));

  test('30. destination_addr without NUL before the end of the PDU: ESME_RINVCMDLEN', () =>
    withServer({}, async (h) => {
      const { peer } = await h.boundPeer('transceiver');
      peer.send(
        new PduBuilder()
          .cstring('')
          .u8(1)
          .u8(1)
          .cstring('4670000001')
          .u8(1)
          .u8(1)
          .octets(Buffer.from('12345', 'latin1'))
          .build(CommandId.submit_sm, 0, 181),
      );
      await expectResp(peer, 'submit_sm_resp', S.ESME_RINVCMDLEN, 181);
      await assertAlive(peer);
      peer.destroy();
    }));

  test('31. over-long fields: field-specific status codes', () =>
    withServer({}, async (h) => {
      const { peer } = await h.boundPeer('transceiver');
      peer.send(submitFrame(191, submitBody({ sourceAddr: '1'.repeat(21) })));
      await expectResp(peer, 'submit_sm_resp', S.ESME_RINVSRCADR, 191);
      peer.send(submitFrame(192, submitBody({ destinationAddr: '2'.repeat(21) })));
      await expectResp(peer, 'submit_sm_resp', S.ESME_RINVDSTADR, 192);
      peer.send(submitFrame(193, submitBody({ serviceType: 'ABCDEF' })));
      await expectResp(peer, 'submit_sm_resp', S.ESME_RINVSERTYP, 193);
      peer.send(new PduBuilder().cstring('9'.repeat(65)).u8(0).u8(0).cstring('').build(CommandId.query_sm, 0, 194));
      await expectResp(peer, 'query_sm_resp', S.ESME_RINVMSGID, 194);
      // Limits are inclusive: 20 / 5 / 64 characters pass.
      peer.send(submitFrame(195, submitBody({ sourceAddr: '1'.repeat(20), destinationAddr: '2'.repeat(20), serviceType: 'ABCDE' })));
      await expectResp(peer, 'submit_sm_resp', S.ESME_ROK, 195);
      assert.equal(h.seen.length, 1);
      await assertAlive(peer);
      peer.destroy();
    }));

  test('31b. data_sm addresses up to 64 characters are accepted', () =>
    withServer({}, async (h) => {
      const { peer } = await h.boundPeer('transceiver');
      const src = 's'.repeat(64);
      const dst = 'd'.repeat(64);
      peer.send(
        new PduBuilder()
          .cstring('')
          .u8(5)
          .u8(0)
          .cstring(src)
          .u8(1)
          .u8(1)
          .cstring(dst)
          .u8(0)
          .u8(0)
          .u8(0)
          .tlv(0x0424, Buffer.from('payload', 'latin1'))
          .build(CommandId.data_sm, 0, 196),
      );
      await expectResp(peer, 'data_sm_resp', S.ESME_ROK, 196);
      const got = h.seen[0] as Pdu & { sourceAddr: string; destinationAddr: string; tlvs: { messagePayload?: Buffer } };
      assert.equal(got.command, 'data_sm');
      assert.equal(got.sourceAddr, src);
      assert.equal(got.destinationAddr, dst);
      assert.equal(got.tlvs.messagePayload?.toString('latin1'), 'payload');
      peer.send(
        new PduBuilder()
          .cstring('')
          .u8(5)
          .u8(0)
          .cstring('s'.repeat(65))
          .u8(1)
          .u8(1)
          .cstring(dst)
          .u8(0)
          .u8(0)
          .u8(0)
          .build(CommandId.data_sm, 0, 197),
      );
      await expectResp(peer, 'data_sm_resp', S.ESME_RINVSRCADR, 197);
      peer.destroy();
    }));

  test('32. sm_length greater than the remaining body: ESME_RINVMSGLEN', () =>
    withServer({}, async (h) => {
      const { peer } = await h.boundPeer('transceiver');
      const body = submitBody({ shortMessage: Buffer.alloc(0) }).body();
      body[body.length - 1] = 200; // sm_length 200, then 5 octets
      peer.send(new PduBuilder().octets(body).octets(Buffer.from('Hello')).build(CommandId.submit_sm, 0, 201));
      await expectResp(peer, 'submit_sm_resp', S.ESME_RINVMSGLEN, 201);
      await assertAlive(peer);
      peer.destroy();
    }));

  test('33. TLV length beyond the remaining octets: ESME_RINVTLVSTREAM', () =>
    withServer({}, async (h) => {
      const { peer } = await h.boundPeer('transceiver');
      peer.send(submitBody().tlvWithLength(0x0424, 50, [1, 2, 3]).build(CommandId.submit_sm, 0, 211));
      await expectResp(peer, 'submit_sm_resp', S.ESME_RINVTLVSTREAM, 211);
      await assertAlive(peer);
      peer.destroy();
    }));

  for (const stray of [1, 2, 3]) {
    test(`34. ${stray} stray octet(s) after the last TLV: ESME_RINVTLVSTREAM`, () =>
      withServer({}, async (h) => {
        const { peer } = await h.boundPeer('transceiver');
        peer.send(
          submitBody()
            .tlv(0x0204, [0, 1])
            .octets(Buffer.alloc(stray, 0x02))
            .build(CommandId.submit_sm, 0, 220 + stray),
        );
        await expectResp(peer, 'submit_sm_resp', S.ESME_RINVTLVSTREAM, 220 + stray);
        await assertAlive(peer);
        peer.destroy();
      }));
  }

  test('35. known TLV with a wrong length: ESME_RINVTLVLEN', () =>
    withServer({}, async (h) => {
      const { peer } = await h.boundPeer('transceiver');
      peer.send(submitBody().tlv(0x020c, [7]).build(CommandId.submit_sm, 0, 231)); // sar_msg_ref_num, length 1
      await expectResp(peer, 'submit_sm_resp', S.ESME_RINVTLVLEN, 231);
      peer.send(submitBody().tlv(0x0427, [0, 2]).build(CommandId.submit_sm, 0, 232)); // message_state, length 2
      await expectResp(peer, 'submit_sm_resp', S.ESME_RINVTLVLEN, 232);
      assert.equal(h.seen.length, 0);
      await assertAlive(peer);
      peer.destroy();
    }));

  test('36. unknown TLV tags and a known-but-unexpected TLV are ignored: ROK', () =>
    withServer({}, async (h) => {
      const { peer } = await h.boundPeer('transceiver');
      peer.send(
        submitBody()
          .tlv(0x1401, [0xaa, 0xbb])
          .tlv(0x7777, [1, 2, 3])
          .tlv(0x0210, [0x34]) // sc_interface_version has no business in submit_sm
          .build(CommandId.submit_sm, 0, 241),
      );
      await expectResp(peer, 'submit_sm_resp', S.ESME_ROK, 241);
      assert.equal(h.seen.length, 1);
      const tlvs = (h.seen[0] as Pdu & { tlvs: { unknown?: Array<{ tag: number }> } }).tlvs;
      assert.deepEqual(
        tlvs.unknown?.map((t) => t.tag),
        [0x1401, 0x7777],
      );
      peer.destroy();
    }));

  test('41. a request carrying command_status != 0 is processed normally', () =>
    withServer({}, async (h) => {
      const { peer } = await h.boundPeer('transceiver');
      peer.send(submitFrame(251, submitBody(), S.ESME_RSYSERR));
      const r = (await expectResp(peer, 'submit_sm_resp', S.ESME_ROK, 251)) as Pdu & { messageId: string };
      assert.equal(r.messageId, 'm1');
      peer.send(headerOnly(CommandId.enquire_link, 0x45, 252));
      await expectResp(peer, 'enquire_link_resp', S.ESME_ROK, 252);
      peer.destroy();
    }));

  test('41b. a bind carrying command_status != 0 binds normally', () =>
    withServer({}, async (h) => {
      const peer = await h.peer();
      const frame = bindFrame('transceiver', { sequenceNumber: 253 });
      frame.writeUInt32BE(0x0d, 8);
      peer.send(frame);
      await expectResp(peer, 'bind_transceiver_resp', S.ESME_ROK, 253);
      peer.destroy();
    }));
});

// ---- closing TCP ----------------------------------------------------------------------------

describe('the SMSC closes TCP even when the peer keeps its side open', () => {
  /** After the SMSC's FIN, data from the peer must meet a closed socket (RST), not a half-open one. */
  async function assertFullyClosed(h: Harness, peer: RawPeer): Promise<void> {
    await waitFor(() => peer.isEnded || peer.isClosed, 'FIN from the SMSC');
    h.clock.advance(60_000); // any grace timer the SMSC may use
    await tick();
    // The first write after the FIN meets the closed socket and draws a RST; a peer that has
    // stopped reading only learns of it on its next write (EPIPE), which closes it.
    if (!peer.isClosed) peer.send(headerOnly(CommandId.enquire_link, 0, 99));
    await new Promise((r) => setTimeout(r, 50));
    if (!peer.isClosed) peer.send(headerOnly(CommandId.enquire_link, 0, 100));
    await peer.closed(2000);
    assert.equal(peer.queued, 0, 'nothing answered after the close');
  }

  test('after a refused bind', () =>
    withServer({}, async (h) => {
      const peer = await RawPeer.connect(h.port, { allowHalfOpen: true });
      try {
        peer.send(bindFrame('transceiver', { password: 'wrong', sequenceNumber: 1 }));
        await expectResp(peer, 'bind_transceiver_resp', S.ESME_RINVPASWD, 1);
        await assertFullyClosed(h, peer);
      } finally {
        peer.destroy();
      }
    }));

  test('after the ESME unbinds', () =>
    withServer({}, async (h) => {
      const peer = await RawPeer.connect(h.port, { allowHalfOpen: true });
      try {
        peer.send(bindFrame('transceiver', { sequenceNumber: 1 }));
        await expectResp(peer, 'bind_transceiver_resp', S.ESME_ROK, 1);
        peer.send(headerOnly(CommandId.unbind, 0, 2));
        await expectResp(peer, 'unbind_resp', S.ESME_ROK, 2);
        await assertFullyClosed(h, peer);
      } finally {
        peer.destroy();
      }
    }));

  test('after a fatal framing error (command_length 8)', () =>
    withServer({}, async (h) => {
      const peer = await RawPeer.connect(h.port, { allowHalfOpen: true });
      try {
        peer.send(new PduBuilder().buildWithLength(8, CommandId.enquire_link, 0, 3));
        await expectResp(peer, 'generic_nack', S.ESME_RINVCMDLEN, 3);
        await assertFullyClosed(h, peer);
      } finally {
        peer.destroy();
      }
    }));

  test('server.close() completes while an unbound peer keeps its side open', () =>
    withServer({}, async (h) => {
      const accepted = deferred<Session>();
      h.server.once('session', (s: Session) => accepted.resolve(s));
      const peer = await RawPeer.connect(h.port, { allowHalfOpen: true });
      try {
        await accepted.promise;
        const closing = h.server.close();
        for (let i = 0; i < 3; i++) {
          h.clock.advance(60_000);
          await tick();
        }
        await withTimeout(closing, 2000, 'server.close() with a half-open peer');
      } finally {
        peer.destroy();
      }
    }));
});
