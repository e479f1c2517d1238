/**
 * Human-readable PDU dumps for logs and the CLI: Buffers as hex, password redacted,
 * long payloads truncated.
 */
import { commandStatusName } from './constants.js';
import type { Pdu } from './types.js';

/** Options of `pduToJson`. */
export interface DescribeOptions {
  /** Replace bind/outbind passwords with '***' (default true). */
  redact?: boolean;
  /** Truncate octet strings longer than this many octets (default: no limit). */
  maxBytes?: number;
}

function convert(value: unknown, opts: Required<DescribeOptions>): unknown {
  if (Buffer.isBuffer(value)) {
    const hex = value.subarray(0, opts.maxBytes).toString('hex');
    return value.length > opts.maxBytes ? `${hex}…(${value.length} octets)` : hex;
  }
  if (Array.isArray(value)) return value.map((v) => convert(v, opts));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = convert(v, opts);
    return out;
  }
  return value;
}

/**
 * A JSON-safe copy of a PDU: Buffers become hex strings and the status gains its name.
 * `pduFromJson` in the CLI reverses it.
 */
export function pduToJson(pdu: Pdu, options: DescribeOptions = {}): Record<string, unknown> {
  const opts = { redact: options.redact ?? true, maxBytes: options.maxBytes ?? Number.POSITIVE_INFINITY };
  const out = convert(pdu, opts) as Record<string, unknown>;
  if (opts.redact && typeof out['password'] === 'string' && out['password'] !== '') out['password'] = '***';
  return { ...out, commandStatusName: commandStatusName(pdu.commandStatus) };
}

/** One-line summary for traces: `submit_sm#12 ESME_ROK 447700900123>12345 (25 octets)`. */
export function describePdu(pdu: Pdu): string {
  const p = pdu as unknown as Record<string, unknown>;
  let s = `${pdu.command}#${pdu.sequenceNumber} ${commandStatusName(pdu.commandStatus)}`;
  if (typeof p['sourceAddr'] === 'string' || typeof p['destinationAddr'] === 'string') {
    s += ` ${String(p['sourceAddr'] ?? '')}>${String(p['destinationAddr'] ?? '')}`;
  }
  if (typeof p['messageId'] === 'string' && p['messageId'] !== '') s += ` id=${p['messageId']}`;
  if (Buffer.isBuffer(p['shortMessage'])) s += ` (${(p['shortMessage'] as Buffer).length} octets)`;
  return s;
}
