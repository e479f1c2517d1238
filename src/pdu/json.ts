/**
 * PDUs from JSON, the inverse of `pduToJson`: octet fields given as hex strings become Buffers.
 */
import { type CommandName, CommandStatus } from './constants.js';
import { PduEncodeError } from './errors.js';
import { FieldKind, specForCommand, TlvKind, tlvSpecForKey } from './schema.js';
import type { Pdu } from './types.js';

function hex(v: unknown, field: string): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (typeof v !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(v)) throw new PduEncodeError(`${field}: must be a hex string`, field);
  return Buffer.from(v, 'hex');
}

/**
 * Builds a PDU from a JSON object: `command` is required, `commandStatus` may be a number or an
 * ESME_* name, missing header fields default to 0 / sequence 1, octet strings are hex.
 */
export function pduFromJson(json: Record<string, unknown>): Pdu {
  const command = json['command'];
  if (typeof command !== 'string') throw new PduEncodeError('command: is required', 'command');
  const spec = specForCommand(command as CommandName);
  if (spec === undefined) throw new PduEncodeError(`command: unknown command '${command}'`, 'command');
  const out: Record<string, unknown> = { ...json };
  delete out['commandStatusName'];
  const st = json['commandStatus'];
  out['commandStatus'] =
    typeof st === 'string' ? ((CommandStatus as Record<string, number>)[st] ?? Number(st)) : (st ?? 0);
  out['sequenceNumber'] = json['sequenceNumber'] ?? 1;
  for (const f of spec.body ?? []) {
    if (f.kind === FieldKind.ShortMessage && out[f.key] !== undefined) out[f.key] = hex(out[f.key], f.key);
  }
  const tlvs = json['tlvs'];
  if (spec.body !== null) {
    const converted: Record<string, unknown> = {};
    if (tlvs !== undefined && (typeof tlvs !== 'object' || tlvs === null)) throw new PduEncodeError('tlvs: must be an object', 'tlvs');
    for (const [key, value] of Object.entries((tlvs ?? {}) as Record<string, unknown>)) {
      if (key === 'unknown') {
        converted[key] = (value as { tag: number; value: unknown }[]).map((t) => ({ tag: t.tag, value: hex(t.value, 'unknown.value') }));
        continue;
      }
      const t = tlvSpecForKey(key);
      if (t === undefined) throw new PduEncodeError(`tlvs.${key}: unknown TLV`, key);
      const one = (v: unknown) => (t.kind === TlvKind.Octets ? hex(v, `tlvs.${key}`) : v);
      converted[key] = t.repeat && Array.isArray(value) ? value.map(one) : one(value);
    }
    out['tlvs'] = converted;
  }
  return out as unknown as Pdu;
}
