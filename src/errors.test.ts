import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { errorText } from './errors.js';

test('errorText: the message, else the parts of an AggregateError, else the code or the name', async () => {
  assert.equal(errorText(new Error('boom')), 'boom');
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  assert.equal(errorText(new AggregateError([new Error('connect ECONNREFUSED ::1:1'), refused], '')), 'connect ECONNREFUSED ::1:1; connect ECONNREFUSED 127.0.0.1:1');
  assert.equal(errorText(Object.assign(new Error(''), { code: 'ECONNRESET' })), 'ECONNRESET');
  assert.equal(errorText(new TypeError('')), 'TypeError');
  // Anything thrown that is not an Error, as it is (a part of an AggregateError too).
  assert.equal(errorText('disk full'), 'disk full');
  assert.equal(errorText(new AggregateError(['a', 7], '')), 'a; 7');
  // What node gives when every address of a name refuses (happy eyeballs): an empty message.
  const port = await new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
  const err = await new Promise<Error>((resolve) => {
    const socket = net.connect({
      port,
      host: 'both.example',
      autoSelectFamily: true,
      lookup: (_host, _opts, cb) => (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: '127.0.0.1', family: 4 }, { address: '127.0.0.1', family: 4 }]),
    });
    socket.once('error', resolve);
  });
  assert.match(errorText(err), /ECONNREFUSED/);
});
