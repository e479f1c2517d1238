/**
 * Codec benchmark: decode and encode rates (PDUs/s) for submit_sm, deliver_sm and
 * enquire_link, ours against the npm `smpp` package's codec, in one run, with the ratio.
 * Usage: npm run bench:codec [-- --seconds 1]
 */
import { createRequire } from 'node:module';
import { decodePdu, encodePdu, type Pdu } from '../src/pdu/index.js';

const require = createRequire(import.meta.url);
// The npm `smpp` package (CommonJS, no types): only its PDU class is used here.
const smpp = require('smpp') as {
  PDU: { new (command: string, options?: Record<string, unknown>): { toBuffer(): Buffer }; fromBuffer(b: Buffer): unknown };
};

const secondsArg = process.argv.indexOf('--seconds');
const seconds = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 1;

const text = Buffer.from('Hello from the benchmark, a typical short message text', 'latin1');
const submitSm: Pdu = {
  command: 'submit_sm', commandStatus: 0, sequenceNumber: 42, serviceType: '', sourceAddrTon: 5, sourceAddrNpi: 0,
  sourceAddr: 'ACME', destAddrTon: 1, destAddrNpi: 1, destinationAddr: '447700900123', esmClass: 0, protocolId: 0,
  priorityFlag: 0, scheduleDeliveryTime: '', validityPeriod: '', registeredDelivery: 1, replaceIfPresentFlag: 0,
  dataCoding: 0, smDefaultMsgId: 0, shortMessage: text, tlvs: {},
};
const deliverSm: Pdu = {
  ...submitSm, command: 'deliver_sm', esmClass: 4, registeredDelivery: 0,
  shortMessage: Buffer.from('id:0000012345 sub:001 dlvrd:001 submit date:2503011430 done date:2503011431 stat:DELIVRD err:000 text:Hello world'),
  tlvs: { receiptedMessageId: '0000012345', messageState: 2 },
};
const enquireLink: Pdu = { command: 'enquire_link', commandStatus: 0, sequenceNumber: 7 };

const theirs: Record<string, () => { toBuffer(): Buffer }> = {
  submit_sm: () => new smpp.PDU('submit_sm', {
    sequence_number: 42, source_addr_ton: 5, source_addr: 'ACME', dest_addr_ton: 1, dest_addr_npi: 1,
    destination_addr: '447700900123', registered_delivery: 1, short_message: text,
  }),
  deliver_sm: () => new smpp.PDU('deliver_sm', {
    sequence_number: 42, source_addr_ton: 5, source_addr: 'ACME', dest_addr_ton: 1, dest_addr_npi: 1,
    destination_addr: '447700900123', esm_class: 4, short_message: (deliverSm as { shortMessage: Buffer }).shortMessage,
    receipted_message_id: '0000012345', message_state: 2,
  }),
  enquire_link: () => new smpp.PDU('enquire_link', { sequence_number: 7 }),
};

function rate(fn: () => void): number {
  for (let i = 0; i < 20000; i++) fn(); // warm up
  let n = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 1000; i++) fn();
    n += 1000;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

const rows: { op: string; ours: number; theirs: number }[] = [];
let sink: unknown;
for (const pdu of [submitSm, deliverSm, enquireLink]) {
  const bytes = encodePdu(pdu);
  const make = theirs[pdu.command]!;
  const theirBytes = make().toBuffer();
  rows.push({
    op: `decode ${pdu.command}`,
    ours: rate(() => { sink = decodePdu(bytes); }),
    theirs: rate(() => { sink = smpp.PDU.fromBuffer(theirBytes); }),
  });
  rows.push({
    op: `encode ${pdu.command}`,
    ours: rate(() => { sink = encodePdu(pdu); }),
    theirs: rate(() => { sink = make().toBuffer(); }),
  });
}
void sink;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(12);
console.log(`codec benchmark, node ${process.version}, ${seconds}s per cell, one core`);
console.log(`${'operation'.padEnd(24)}${'smsc PDUs/s'.padStart(12)}${'npm smpp'.padStart(12)}${'ratio'.padStart(8)}`);
for (const r of rows) console.log(`${r.op.padEnd(24)}${fmt(r.ours)}${fmt(r.theirs)}${(r.ours / r.theirs).toFixed(1).padStart(7)}x`);
