/**
 * Interop with Debian's Net::SMPP (libnet-smpp-perl), an independent Perl SMPP 3.4 client,
 * driven by test/interop/netsmpp-client.pl against our SMSC listener: bind_transceiver,
 * submit_sm (the handler checks every field), enquire_link, query_sm, a deliver_sm we send
 * and it answers, unbind. Skipped, loudly, when Net::SMPP is not installed.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { PduOf } from '../../src/pdu/types.js';
import type { Session } from '../../src/session/session.js';
import { deferred, withTimeout } from '../support/async.js';
import { deliverBody, SMSC_ID, startServer } from '../support/server.js';

/** test/interop/netsmpp-client.pl, from dist/test/interop or test/interop. */
function scriptPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'test', 'interop', 'netsmpp-client.pl');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('test/interop/netsmpp-client.pl not found');
    dir = parent;
  }
}

function netSmppAvailable(): boolean {
  const r = spawnSync('perl', ['-MNet::SMPP', '-e1'], { stdio: 'ignore' });
  return r.status === 0;
}

test('Net::SMPP client → our SMSC: bind, submit_sm, enquire_link, query_sm, deliver_sm, unbind', async (t) => {
  if (!netSmppAvailable()) {
    t.skip('Net::SMPP not available: install with: apt-get install -y libnet-smpp-perl');
    return;
  }
  const queried: PduOf<'query_sm'>[] = [];
  const h = await startServer({
    handlers: {
      onQuerySm: (req) => {
        queried.push(req);
        return { messageId: req.messageId, finalDate: '', messageState: 1, errorCode: 0 };
      },
    },
  });
  const bound = h.nextBound();
  const child = spawn('perl', [scriptPath(), '127.0.0.1', String(h.port), 'esme1', 'secret1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = new Map<string, string>();
  const ready = deferred<void>();
  const exited = deferred<number | null>();
  let stderr = '';
  let buffered = '';
  child.stdout.setEncoding('latin1');
  child.stdout.on('data', (s: string) => {
    buffered += s;
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line === 'READY') ready.resolve();
      const sp = line.indexOf(' ');
      if (sp > 0) out.set(line.slice(0, sp), line.slice(sp + 1));
      else out.set(line, '');
      nl = buffered.indexOf('\n');
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    stderr += s;
  });
  child.on('exit', (code) => exited.resolve(code));
  child.on('error', (e) => exited.reject(e));
  try {
    await withTimeout(
      Promise.race([ready.promise, exited.promise.then((c) => Promise.reject(new Error(`perl exited ${c}: ${stderr}`)))]),
      15_000,
      `Net::SMPP READY (stderr: ${stderr})`,
    );
    const session: Session = await bound;
    assert.equal(session.bindType, 'transceiver');
    assert.equal(session.interfaceVersion, 0x34);

    // What the SMSC saw of the submit_sm, field by field.
    assert.equal(h.seen.length >= 1, true);
    const sub = h.seen[0] as PduOf<'submit_sm'>;
    assert.equal(sub.command, 'submit_sm');
    assert.equal(sub.serviceType, 'CMT');
    assert.equal(sub.sourceAddrTon, 1);
    assert.equal(sub.sourceAddrNpi, 1);
    assert.equal(sub.sourceAddr, '46701110000');
    assert.equal(sub.destAddrTon, 1);
    assert.equal(sub.destAddrNpi, 1);
    assert.equal(sub.destinationAddr, '46702220000');
    assert.equal(sub.esmClass, 0);
    assert.equal(sub.protocolId, 0);
    assert.equal(sub.priorityFlag, 1);
    assert.equal(sub.scheduleDeliveryTime, '');
    assert.equal(sub.validityPeriod, '000001000000000R');
    assert.equal(sub.registeredDelivery, 1);
    assert.equal(sub.replaceIfPresentFlag, 0);
    assert.equal(sub.dataCoding, 0);
    assert.equal(sub.smDefaultMsgId, 0);
    assert.equal(sub.shortMessage.toString('latin1'), 'Hello from Net::SMPP');
    assert.equal(sub.tlvs.userMessageReference, 777);
    assert.equal(sub.sequenceNumber, Number(out.get('submit_seq')));

    assert.equal(queried.length, 1);
    assert.equal(queried[0]!.messageId, 'm1');
    assert.equal(queried[0]!.sourceAddr, '46701110000');

    const resp = await withTimeout(
      session.request(
        'deliver_sm',
        deliverBody('id:m1 sub:001 dlvrd:001 submit date:2601011200 done date:2601011201 stat:DELIVRD err:000 text:Hello', {
          sourceAddr: '46702220000',
          destinationAddr: '46701110000',
          esmClass: 0x04,
          tlvs: { receiptedMessageId: 'm1', messageState: 2 },
        }),
      ),
      10_000,
      'deliver_sm_resp from Net::SMPP',
    );
    assert.equal(resp.command, 'deliver_sm_resp');
    assert.equal(resp.commandStatus, 0);

    const code = await withTimeout(exited.promise, 10_000, 'perl exit');
    assert.equal(code, 0, `perl failed: ${stderr}`);
    assert.equal(out.has('DONE'), true);

    // What Net::SMPP saw of our responses and of our deliver_sm.
    assert.equal(out.get('bind_cmd'), '0x80000009');
    assert.equal(out.get('bind_status'), '0');
    assert.equal(out.get('bind_seq'), '1');
    assert.equal(out.get('bind_system_id'), SMSC_ID);
    assert.equal(out.get('bind_sc_interface_version'), '0x34');
    assert.equal(out.get('submit_cmd'), '0x80000004');
    assert.equal(out.get('submit_status'), '0');
    assert.equal(out.get('submit_message_id'), 'm1');
    assert.equal(out.get('enquire_cmd'), '0x80000015');
    assert.equal(out.get('enquire_status'), '0');
    assert.equal(out.get('query_cmd'), '0x80000003');
    assert.equal(out.get('query_status'), '0');
    assert.equal(out.get('query_message_id'), 'm1');
    assert.equal(out.get('query_message_state'), '1');
    assert.equal(out.get('query_error_code'), '0');
    assert.equal(out.get('query_final_date'), 'empty');
    assert.equal(out.get('deliver_cmd'), '0x00000005');
    assert.equal(out.get('deliver_seq'), '1');
    assert.equal(out.get('deliver_source_addr'), '46702220000');
    assert.equal(out.get('deliver_destination_addr'), '46701110000');
    assert.equal(out.get('deliver_esm_class'), '4');
    assert.match(out.get('deliver_short_message') ?? '', /^id:m1 sub:001 .* stat:DELIVRD err:000 text:Hello$/);
    assert.equal(out.get('deliver_receipted_message_id'), 'm1');
    assert.equal(out.get('unbind_cmd'), '0x80000006');
    assert.equal(out.get('unbind_status'), '0');
    assert.equal(await withTimeout(session.closed(), 5000, 'session closed after unbind'), undefined);
    assert.equal(stderr.trim(), '', 'Net::SMPP printed no warnings');
  } finally {
    if (child.exitCode === null) child.kill();
    await h.close();
  }
});
