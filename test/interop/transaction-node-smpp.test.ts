/**
 * Transaction mode with an independent implementation on both ends: two npm `smpp` (node-smpp)
 * clients against the whole SMSC (SQLite, real sockets). alice submits with esm_class 0x02;
 * bob, a receiver, answers the deliver_sm: alice's submit_sm_resp comes only after bob's
 * answer, with the message id when bob took it, ESME_RDELIVERYFAILURE (0xFE) when he refused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startSmsc } from '../../src/app/smsc.js';
import { validateConfig } from '../../src/config/config.js';
import { CommandStatus } from '../../src/pdu/constants.js';
import { withTimeout } from '../support/async.js';
import { call, type NodePdu, type NodeSession, nodeSmpp as smpp } from '../support/node-smpp.js';

async function connected(port: number): Promise<NodeSession> {
  const s = smpp.connect({ host: '127.0.0.1', port });
  s.on('error', () => {});
  await withTimeout(new Promise<void>((resolve) => s.once('connect', () => resolve())), 3000, 'connect');
  return s;
}

test('node-smpp submits in transaction mode: the response waits for the deliver_sm_resp and carries its outcome', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smsc-tx-'));
  const smsc = await startSmsc(
    validateConfig({
      smpp: { listeners: [{ host: '127.0.0.1', port: 0 }], enquireLinkIntervalMs: 0 },
      store: { sqlite: { path: join(dir, 'smsc.db') } },
      accounts: [
        { systemId: 'alice', password: 'apw', addresses: ['1000'] },
        { systemId: 'bob', password: 'bpw', addresses: ['2000'] },
      ],
    }),
  );
  const peers: NodeSession[] = [];
  try {
    const port = smsc.listening[0]!.port;
    const bob = await connected(port);
    peers.push(bob);
    // bob holds each deliver_sm until the test answers it, to see alice's response wait.
    const answers: Array<(status: number) => void> = [];
    const arrived: string[] = [];
    bob.on('deliver_sm', (pdu: never) => {
      const p = pdu as NodePdu;
      arrived.push(String((p.short_message as { message?: unknown }).message ?? p.short_message));
      answers.push((status) => bob.send(p.response({ command_status: status })));
    });
    assert.equal((await call((cb) => bob.bind_receiver({ system_id: 'bob', password: 'bpw' }, cb), 'bob bind')).command_status, 0);
    const alice = await connected(port);
    peers.push(alice);
    assert.equal((await call((cb) => alice.bind_transmitter({ system_id: 'alice', password: 'apw' }, cb), 'alice bind')).command_status, 0);

    const submit = (text: string) =>
      call(
        (cb) => alice.submit_sm({ source_addr: '1000', destination_addr: '2000', esm_class: 0x02, short_message: Buffer.from(text, 'latin1') }, cb),
        `submit ${text}`,
      );
    const waitFor = async (n: number) => {
      const end = Date.now() + 5000;
      while (answers.length < n) {
        if (Date.now() > end) throw new Error(`bob got ${answers.length} deliver_sm, not ${n}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };

    let answered = false;
    const taken = submit('taken').then((r) => {
      answered = true;
      return r;
    });
    await waitFor(1);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(answered, false, 'no submit_sm_resp while bob has not answered');
    answers[0]!(CommandStatus.ESME_ROK);
    const ok = await taken;
    assert.equal(ok.command_status, 0);
    assert.match(String(ok.message_id), /^\S+$/);

    const refused = submit('refused');
    await waitFor(2);
    answers[1]!(CommandStatus.ESME_RX_T_APPN);
    const failed = await refused;
    assert.equal(failed.command, 'submit_sm_resp');
    assert.equal(failed.command_status, CommandStatus.ESME_RDELIVERYFAILURE);
    // node-smpp binds as 5.0: the failure carries delivery_failure_reason (3: RX_T_APPN, a
    // temporary error, the one attempt's end).
    assert.equal(failed.delivery_failure_reason, 3);
    assert.deepEqual(arrived, ['taken', 'refused']);
  } finally {
    for (const p of peers) p.destroy();
    await smsc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
