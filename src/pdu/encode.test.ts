/**
 * encodePdu against bytes from the independent PduBuilder, for every command, plus what encodePdu
 * must refuse (PduEncodeError, never a RangeError or silently wrong bytes).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ALL_COMMANDS,
  BODY,
  buildPdu,
  HEADER_ONLY_COMMANDS,
  PduBuilder,
  samplePdu,
  TLV_SPECS,
  tv,
} from '../../test/support/pdu-builder.js';
import { CommandId, type CommandName, CommandStatus, TlvTag } from './constants.js';
import { PduDecodeError, PduEncodeError } from './errors.js';
import { decodePdu, encodeHeaderOnly, encodePdu } from './index.js';
import type { Pdu } from './types.js';

const S = CommandStatus;

function hex(b: Buffer): string {
  return b.toString('hex');
}

function asPdu(p: Record<string, unknown>): Pdu {
  return p as unknown as Pdu;
}

/** encodePdu must throw PduEncodeError (not a RangeError, not a silent truncation). */
function refuses(p: Record<string, unknown>, ctx: string): void {
  let out: Buffer | undefined;
  try {
    out = encodePdu(asPdu(p));
  } catch (e) {
    assert.ok(e instanceof PduEncodeError, `${ctx}: expected PduEncodeError, got ${String(e)}`);
    return;
  }
  assert.fail(`${ctx}: encoded without error to ${hex(out)}`);
}

describe('encodePdu: every command matches the independent builder', () => {
  for (const command of ALL_COMMANDS) {
    it(`${command} (sample values)`, () => {
      const p = samplePdu(command, 0x11223344);
      const expected = buildPdu(p);
      assert.equal(hex(encodePdu(asPdu(p))), hex(expected));
      assert.deepStrictEqual(decodePdu(expected), p);
    });
  }

  it('hand-written bytes: submit_sm with UDH, two TLVs', () => {
    const p = {
      command: 'submit_sm',
      commandStatus: 0,
      sequenceNumber: 2,
      serviceType: 'CMT',
      sourceAddrTon: 5,
      sourceAddrNpi: 0,
      sourceAddr: 'ACME',
      destAddrTon: 1,
      destAddrNpi: 1,
      destinationAddr: '447700900123',
      esmClass: 0x40,
      protocolId: 0,
      priorityFlag: 1,
      scheduleDeliveryTime: '',
      validityPeriod: '000001000000000R',
      registeredDelivery: 1,
      replaceIfPresentFlag: 0,
      dataCoding: 8,
      smDefaultMsgId: 0,
      shortMessage: Buffer.from('0500030a0201d83dde00', 'hex'),
      tlvs: { userMessageReference: 0x1234, sourcePort: 9200 },
    };
    const expected = new PduBuilder()
      .hex('434d5400') // service_type "CMT"
      .hex('05 00 41434d4500') // source ton/npi/addr
      .hex('01 01 34343737303039303031323300') // dest
      .hex('40 00 01') // esm_class, protocol_id, priority_flag
      .hex('00') // schedule_delivery_time NULL
      .hex('30303030303130303030303030303052 00') // validity_period
      .hex('01 00 08 00') // registered_delivery, replace_if_present, data_coding, sm_default_msg_id
      .hex('0a 0500030a0201d83dde00') // sm_length + short_message
      .hex('0204 0002 1234') // user_message_reference
      .hex('020a 0002 23f0') // source_port 9200
      .build(0x00000004, 0, 2);
    assert.equal(hex(encodePdu(asPdu(p))), hex(expected));
  });

  it('every known TLV, one at a time, in data_sm (canonical bytes)', () => {
    for (const spec of TLV_SPECS) {
      const p = samplePdu('data_sm', 7);
      const value = sampleTlv(spec.type.kind, spec);
      p['tlvs'] = { [spec.key]: spec.repeatable ? [value, value] : value };
      const expected = buildPdu(p);
      assert.equal(hex(encodePdu(asPdu(p))), hex(expected), spec.name);
      assert.deepStrictEqual(decodePdu(expected), p, spec.name);
    }
  });

  it('all known TLVs together (keys in ascending tag order) plus unknown ones after them', () => {
    const p = samplePdu('data_sm', 8);
    const tlvs: Record<string, unknown> = {};
    for (const spec of TLV_SPECS) {
      const value = sampleTlv(spec.type.kind, spec);
      tlvs[spec.key] = spec.repeatable ? [value] : value;
    }
    tlvs['unknown'] = [
      { tag: 0x7777, value: Buffer.from([1]) },
      { tag: 0x1401, value: Buffer.alloc(0) },
    ];
    p['tlvs'] = tlvs;
    assert.equal(hex(encodePdu(asPdu(p))), hex(buildPdu(p)));
    assert.deepStrictEqual(decodePdu(buildPdu(p)), p);
  });

  it('TLV order on the wire does not matter: any key order encodes to an equivalent PDU', () => {
    const p = samplePdu('data_sm', 8);
    const tlvs: Record<string, unknown> = {};
    for (const spec of [...TLV_SPECS].reverse()) {
      const value = sampleTlv(spec.type.kind, spec);
      tlvs[spec.key] = spec.repeatable ? [value, value] : value;
    }
    p['tlvs'] = tlvs;
    const b = encodePdu(asPdu(p));
    assert.equal(b.length, buildPdu(p).length);
    assert.deepStrictEqual(decodePdu(b), p);
  });

  it('header-only commands encode to 16 octets, and encodeHeaderOnly agrees', () => {
    for (const command of HEADER_ONLY_COMMANDS) {
      const expected = new PduBuilder().build(CommandId[command], 0x58, 0xfffffffe);
      assert.equal(hex(encodePdu(asPdu({ command, commandStatus: 0x58, sequenceNumber: 0xfffffffe }))), hex(expected));
      assert.equal(hex(encodeHeaderOnly(CommandId[command], 0x58, 0xfffffffe)), hex(expected));
    }
    assert.equal(hex(encodeHeaderOnly(0x00000099, 0, 1)), '00000010000000990000000000000001');
  });

  it('an error response with default fields is header-only [ref §1.1]', () => {
    for (const command of ['submit_sm_resp', 'bind_transceiver_resp', 'query_sm_resp', 'submit_multi_resp'] as const) {
      const p = samplePdu(command, 3, S.ESME_RINVDSTADR);
      for (const f of BODY[command]) {
        p[f.key] = f.kind === 'u8' ? 0 : f.kind === 'unsucc' ? [] : '';
      }
      assert.equal(hex(encodePdu(asPdu(p))), hex(new PduBuilder().build(CommandId[command], S.ESME_RINVDSTADR, 3)), command);
    }
  });

  it('a transaction-mode failure keeps its body and TLVs [ref §1.1]', () => {
    const p = {
      command: 'submit_sm_resp',
      commandStatus: S.ESME_RDELIVERYFAILURE,
      sequenceNumber: 4,
      messageId: '',
      tlvs: { deliveryFailureReason: 1, networkErrorCode: { networkType: 3, errorCode: 0x22 } },
    };
    const expected = new PduBuilder()
      .cstring('')
      .tlv(TlvTag.delivery_failure_reason, [1])
      .tlv(TlvTag.network_error_code, [3, 0, 0x22])
      .build(CommandId.submit_sm_resp, S.ESME_RDELIVERYFAILURE, 4);
    assert.equal(hex(encodePdu(asPdu(p))), hex(expected));
  });

  it('command_length is written for every command and every sequence number', () => {
    for (const command of ALL_COMMANDS) {
      for (const seq of [0, 1, 0x7fffffff, 0x80000000, 0xffffffff]) {
        const b = encodePdu(asPdu(samplePdu(command, seq)));
        assert.equal(b.readUInt32BE(0), b.length, command);
        assert.equal(b.readUInt32BE(4), CommandId[command], command);
        assert.equal(b.readUInt32BE(12), seq, command);
      }
    }
  });

  it('the encoded buffer is not shared between calls', () => {
    const a = encodePdu(asPdu(samplePdu('submit_sm', 1)));
    const copy = Buffer.from(a);
    encodePdu(asPdu(samplePdu('deliver_sm', 2)));
    encodePdu(asPdu(samplePdu('enquire_link', 3)));
    assert.equal(hex(a), hex(copy));
  });
});

function sampleTlv(kind: string, spec: (typeof TLV_SPECS)[number]): unknown {
  const t = spec.type;
  switch (kind) {
    case 'u8':
      return 0xfe;
    case 'u16':
      return 0xfedc;
    case 'u32':
      return 0xfedcba98;
    case 'nec':
      return { networkType: 3, errorCode: 0xabcd };
    case 'time':
      return '260101120000000+';
    case 'cstr':
      return t.kind === 'cstr' ? 'n'.repeat(Math.max(t.min - 1, 3)) : '';
    default: {
      const len = t.kind === 'octets' ? (t.only?.[t.only.length - 1] ?? Math.min(t.max, Math.max(t.min, 5))) : 1;
      return Buffer.alloc(len, 0xa5);
    }
  }
}

// ---- what cannot be encoded ----------------------------------------------------------------------

describe('encodePdu refuses values that cannot be encoded (PduEncodeError)', () => {
  for (const command of ALL_COMMANDS) {
    for (const f of BODY[command]) {
      if (f.kind !== 'cstr' && f.kind !== 'time') continue;
      const max = f.kind === 'cstr' ? f.max : 17;
      it(`${command}.${f.key} of ${max} characters (max ${max - 1})`, () => {
        const p = samplePdu(command, 1);
        p[f.key] = 'x'.repeat(max);
        refuses(p, `${command}.${f.key}`);
        if (f.kind === 'cstr') {
          p[f.key] = 'x'.repeat(max - 1);
          assert.equal(decodePdu(encodePdu(asPdu(p))).command, command);
        }
      });
    }
  }

  it('short_message of 256 octets (sm_length is one octet)', () => {
    for (const command of ['submit_sm', 'deliver_sm', 'submit_multi', 'replace_sm'] as const) {
      const p = samplePdu(command, 1);
      p['shortMessage'] = Buffer.alloc(256);
      refuses(p, command);
    }
  });

  it('message_payload of 65536 octets (TLV length is two octets)', () => {
    const p = samplePdu('data_sm', 1);
    p['tlvs'] = { messagePayload: Buffer.alloc(65536) };
    refuses(p, 'message_payload');
  });

  it('an unknown TLV of 65536 octets', () => {
    const p = samplePdu('submit_sm', 1);
    p['tlvs'] = { unknown: [{ tag: 0x1401, value: Buffer.alloc(65536) }] };
    refuses(p, 'unknown TLV');
  });

  it('submit_multi with 0 or 256 destinations, submit_multi_resp with 256 unsuccess_sme', () => {
    const p = samplePdu('submit_multi', 1);
    p['destAddresses'] = [];
    refuses(p, '0 dests');
    p['destAddresses'] = Array.from({ length: 256 }, () => ({ destFlag: 2, dlName: 'l' }));
    refuses(p, '256 dests');
    const r = samplePdu('submit_multi_resp', 1);
    r['unsuccessSmes'] = Array.from({ length: 256 }, () => ({
      destAddrTon: 0,
      destAddrNpi: 0,
      destinationAddr: '',
      errorStatusCode: 8,
    }));
    refuses(r, '256 unsuccess_sme');
  });

  it('submit_multi dest_address over-long destination_addr / dl_name', () => {
    const p = samplePdu('submit_multi', 1);
    p['destAddresses'] = [{ destFlag: 1, destAddrTon: 1, destAddrNpi: 1, destinationAddr: '1'.repeat(21) }];
    refuses(p, 'destination_addr');
    p['destAddresses'] = [{ destFlag: 2, dlName: 'd'.repeat(21) }];
    refuses(p, 'dl_name');
  });

  it('integers out of range for their octets', () => {
    for (const v of [256, -1, 1.5, Number.NaN]) {
      const p = samplePdu('submit_sm', 1);
      p['esmClass'] = v;
      refuses(p, `esm_class ${v}`);
    }
    for (const v of [2 ** 32, -1]) {
      refuses(samplePdu('enquire_link', v), `sequence_number ${v}`);
      refuses(samplePdu('submit_sm_resp', 1, v), `command_status ${v}`);
    }
    const t = samplePdu('submit_sm', 1);
    t['tlvs'] = { sarMsgRefNum: 65536 };
    refuses(t, 'sar_msg_ref_num 65536');
    t['tlvs'] = { qosTimeToLive: 2 ** 32 };
    refuses(t, 'qos_time_to_live 2^32');
    // Entries that are not objects: a PduEncodeError too, never a TypeError.
    t['tlvs'] = { unknown: [null] };
    refuses(t, 'tlvs.unknown [null]');
    t['tlvs'] = { unknown: 5 };
    refuses(t, 'tlvs.unknown 5');
    const multi = samplePdu('submit_multi', 1);
    multi['destAddresses'] = [null];
    refuses(multi, 'destAddresses [null]');
    const multiResp = samplePdu('submit_multi_resp', 1);
    multiResp['unsuccessSmes'] = [null];
    refuses(multiResp, 'unsuccessSmes [null]');
  });

  it('C-strings containing NUL (would shift every following field on the wire)', () => {
    const p = samplePdu('bind_transceiver', 1);
    p['systemId'] = 'ab\0cd';
    refuses(p, 'system_id with NUL');
    const d = samplePdu('deliver_sm', 1);
    d['tlvs'] = { receiptedMessageId: 'ab\0cd' };
    refuses(d, 'receipted_message_id with NUL');
  });

  it('C-strings with characters outside latin1 (U+0100 and above)', () => {
    // Short and long strings (an encoder may take different paths for them).
    for (const s of ['4477€', '4477Ā', '4477😀', `${'1'.repeat(30)}€`, `${'1'.repeat(30)}Ā`]) {
      const p = samplePdu('data_sm', 1);
      p['destinationAddr'] = s;
      refuses(p, `destination_addr ${JSON.stringify(s)}`);
    }
    const t = samplePdu('deliver_sm', 1);
    t['tlvs'] = { receiptedMessageId: 'id€' };
    refuses(t, 'receipted_message_id with €');
  });
});

describe('whatever encodePdu produces, decodePdu accepts (no malformed TLVs on the wire)', () => {
  // For each TLV, a value of an impossible length: encodePdu must refuse it, or else produce a
  // PDU our own decoder takes. Sending a PDU that we would ourselves answer with
  // ESME_RINVTLVLEN is a bug in the encoder.
  const cases: { name: string; key: string; value: unknown }[] = [];
  for (const spec of TLV_SPECS) {
    const t = spec.type;
    const wrap = (v: unknown): unknown => (spec.repeatable ? [v] : v);
    if (t.kind === 'octets') {
      const bad = [t.min - 1, t.max + 1].filter((n) => n >= 0 && n <= 65535);
      if (t.only) for (let n = t.min; n <= t.max; n++) if (!t.only.includes(n)) bad.push(n);
      for (const n of bad) cases.push({ name: `${spec.name} ${n} octets`, key: spec.key, value: wrap(Buffer.alloc(n, 1)) });
    } else if (t.kind === 'cstr') {
      cases.push({ name: `${spec.name} ${t.max} chars`, key: spec.key, value: wrap('c'.repeat(t.max)) });
      if (t.min > 1) cases.push({ name: `${spec.name} ${t.min - 2} chars`, key: spec.key, value: wrap('c'.repeat(t.min - 2)) });
    } else if (t.kind === 'time') {
      cases.push({ name: `${spec.name} 20 chars`, key: spec.key, value: wrap('2'.repeat(20)) });
    }
  }
  for (const c of cases) {
    it(c.name, () => {
      const p = samplePdu('data_sm', 1);
      p['tlvs'] = { [c.key]: c.value };
      let bytes: Buffer;
      try {
        bytes = encodePdu(asPdu(p));
      } catch (e) {
        assert.ok(e instanceof PduEncodeError, `expected PduEncodeError, got ${String(e)}`);
        return;
      }
      try {
        decodePdu(bytes);
      } catch (e) {
        assert.ok(e instanceof PduDecodeError);
        assert.fail(`encoded ${hex(bytes)} which decodePdu rejects: ${e.message}`);
      }
    });
  }
});

describe('encode → decode identity on sample PDUs', () => {
  const names: CommandName[] = ALL_COMMANDS;
  for (const command of names) {
    it(command, () => {
      const p = samplePdu(command, 5);
      assert.deepStrictEqual(decodePdu(encodePdu(asPdu(p))), p);
    });
  }

  it('receipted_message_id and other C-string TLVs travel with their NUL', () => {
    const p = samplePdu('deliver_sm', 1);
    p['tlvs'] = { receiptedMessageId: '13017d58' };
    const b = encodePdu(asPdu(p));
    assert.ok(hex(b).endsWith(`001e0009${hex(tv.cstr('13017d58'))}`), hex(b));
  });
});
