/**
 * The daemon logger (bindings, redaction) and the run-time PDU trace, fed through the real
 * diagnostics channels.
 */
import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import { test } from 'node:test';
import { logSink } from '../../test/support/log-sink.js';
import type { Pdu } from '../pdu/types.js';
import { createLogger, createPduTrace, type LoggableSession, sessionLogger } from './logger.js';

const pduIn = diagnostics_channel.channel('smsc:pdu:in');
const pduOut = diagnostics_channel.channel('smsc:pdu:out');

function session(id: string, systemId: string | undefined, context?: unknown): LoggableSession {
  return { id, role: 'smsc', systemId: systemId ?? '', remoteAddress: '10.1.2.3', remotePort: 40001, context };
}

const submit = (shortMessage: Buffer): Pdu =>
  ({
    command: 'submit_sm',
    commandStatus: 0,
    sequenceNumber: 7,
    serviceType: '',
    sourceAddrTon: 0,
    sourceAddrNpi: 0,
    sourceAddr: '1000',
    destAddrTon: 1,
    destAddrNpi: 1,
    destinationAddr: '2000',
    esmClass: 0,
    protocolId: 0,
    priorityFlag: 0,
    scheduleDeliveryTime: '',
    validityPeriod: '',
    registeredDelivery: 0,
    replaceIfPresentFlag: 0,
    dataCoding: 0,
    smDefaultMsgId: 0,
    shortMessage,
    tlvs: {},
  }) as unknown as Pdu;

const bind = (systemId: string, password: string): Pdu =>
  ({
    command: 'bind_transmitter',
    commandStatus: 0,
    sequenceNumber: 1,
    systemId,
    password,
    systemType: '',
    interfaceVersion: 0x34,
    addrTon: 0,
    addrNpi: 0,
    addressRange: '',
  }) as unknown as Pdu;

test('records carry nodeId, a level name and an ISO time; secrets are censored', () => {
  const { records, stream } = logSink();
  const log = createLogger({ nodeId: 'n9', destination: stream, level: 'debug' });
  log.info(
    { password: 'pw1', account: { systemId: 'a', password: 'pw2', passwordHash: 'scrypt$x$y' }, token: 't0k', req: { headers: { authorization: 'Bearer abc' } } },
    'hello',
  );
  log.debug('fine');
  const [r, d] = records;
  assert.equal(r!['nodeId'], 'n9');
  assert.equal(r!['level'], 'info');
  assert.equal(d!['level'], 'debug');
  assert.match(String(r!['time']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(r!['password'], '***');
  assert.deepEqual(r!['account'], { systemId: 'a', password: '***', passwordHash: '***' });
  assert.equal(r!['token'], '***');
  assert.deepEqual(r!['req'], { headers: { authorization: '***' } });
  assert.doesNotMatch(JSON.stringify(records), /pw1|pw2|scrypt|t0k|Bearer abc/);
});

test('a session logger binds sessionId, systemId and remote', () => {
  const { records, stream } = logSink();
  const log = createLogger({ nodeId: 'n1', destination: stream });
  sessionLogger(log, session('s1', 'alice-bind', { systemId: 'alice' })).info('bound');
  sessionLogger(log, session('s2', 'bob')).info('esme side');
  sessionLogger(log, { ...session('s3', undefined), remoteAddress: undefined, remotePort: undefined }).info('new');
  assert.deepEqual(
    records.map((r) => [r['nodeId'], r['sessionId'], r['systemId'], r['remote']]),
    [
      ['n1', 's1', 'alice', '10.1.2.3:40001'],
      ['n1', 's2', 'bob', '10.1.2.3:40001'],
      ['n1', 's3', undefined, undefined],
    ],
  );
});

test('the PDU trace listens only while an account is traced and logs only traced accounts', () => {
  const { records, stream } = logSink();
  const trace = createPduTrace(createLogger({ nodeId: 'n1', destination: stream }), { maxBytes: 4 });
  const alice = session('s1', 'alice', { systemId: 'alice' });
  const bob = session('s2', 'bob', { systemId: 'bob' });
  assert.equal(pduIn.hasSubscribers, false, 'nothing traced: sessions need not publish');

  trace.enable('alice');
  trace.enable('alice');
  assert.equal(pduIn.hasSubscribers, true);
  assert.equal(pduOut.hasSubscribers, true);
  assert.deepEqual(trace.accounts, ['alice']);
  assert.equal(trace.isEnabled('alice'), true);
  assert.equal(trace.isEnabled('bob'), false);

  pduIn.publish({ session: alice, pdu: submit(Buffer.from('hello world')) });
  pduIn.publish({ session: bob, pdu: submit(Buffer.from('not traced')) });
  pduOut.publish({ session: alice, pdu: { command: 'submit_sm_resp', commandStatus: 0x45, sequenceNumber: 7, messageId: '' } as unknown as Pdu });
  // A bind comes before the session knows its account: it is traced by the system_id it names.
  pduIn.publish({ session: session('s3', undefined), pdu: bind('alice', 'secret1') });
  pduIn.publish({ session: session('s4', undefined), pdu: bind('mallory', 'secret2') });

  const traced = records.filter((r) => r['pdu'] !== undefined);
  assert.equal(traced.length, 3);
  const [sub, resp, b] = traced as Record<string, Record<string, unknown>>[];
  assert.equal(sub!['dir'] as unknown, 'in');
  assert.equal(sub!['sessionId'] as unknown, 's1');
  assert.equal(sub!['systemId'] as unknown, 'alice');
  assert.equal(sub!['remote'] as unknown, '10.1.2.3:40001');
  assert.equal(sub!['role'] as unknown, 'smsc');
  assert.equal(sub!['msg'] as unknown, 'pdu in submit_sm#7 ESME_ROK 1000>2000 (11 octets)');
  assert.equal(sub!['pdu']!['shortMessage'], '68656c6c…(11 octets)', 'payload cut after maxBytes');
  assert.equal(resp!['dir'] as unknown, 'out');
  assert.equal(resp!['pdu']!['commandStatusName'], 'ESME_RSUBMITFAIL');
  assert.equal(b!['pdu']!['password'], '***');
  assert.equal(b!['sessionId'] as unknown, 's3');
  assert.doesNotMatch(JSON.stringify(records), /secret1|secret2|not traced/);

  trace.disable('alice');
  assert.equal(pduIn.hasSubscribers, false);
  assert.deepEqual(trace.accounts, []);
  const n = records.length;
  pduIn.publish({ session: alice, pdu: submit(Buffer.from('after')) });
  assert.equal(records.length, n);
  assert.ok(records.some((r) => r['msg'] === 'pdu trace on') && records.some((r) => r['msg'] === 'pdu trace off'));
});

test('close() ends every trace', () => {
  const { stream } = logSink();
  const trace = createPduTrace(createLogger({ nodeId: 'n1', destination: stream }));
  trace.enable('a');
  trace.enable('b');
  trace.disable('a');
  assert.equal(pduIn.hasSubscribers, true, 'still tracing b');
  trace.close();
  assert.equal(pduIn.hasSubscribers, false);
  assert.deepEqual(trace.accounts, []);
});
