/**
 * Account helpers shared by the {@link AccountRegistry} implementations: the public view of a
 * configured account, password generation and the checks every backing applies.
 */
import { randomInt } from 'node:crypto';
import type { AccountConfig } from '../config/config.js';
import { certificatesProblem } from '../config/pem.js';
import { parseCidr } from '../server/accounts.js';
import { AdminError } from './errors.js';
import type { AccountInput, AccountPatch, AccountView, OutbindInput } from './types.js';

/** Defaults of a new account, the same as config.ts gives a configured one. */
export const ACCOUNT_DEFAULTS = {
  maxBinds: 4,
  windowSize: 10,
  defaultValiditySeconds: 48 * 3600,
  maxValiditySeconds: 7 * 24 * 3600,
  tps: 0,
  maxQueued: 0,
} as const;

/** SMPP passwords are at most 8 octets [SMPP34 §5.2.2]; no look-alike characters (0/O, 1/l/I). */
const PASSWORD_ALPHABET = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** A random 8-character SMPP password. */
export function generatePassword(): string {
  let out = '';
  for (let i = 0; i < 8; i++) out += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)];
  return out;
}

/** The admin view of a configured account: everything but the secret. */
export function viewOfConfig(
  a: Omit<AccountConfig, 'tps' | 'maxQueued' | 'reassembleMo'> & { tps?: number; maxQueued?: number; disabled?: boolean; reassembleMo?: boolean },
): AccountView {
  const view: AccountView = {
    systemId: a.systemId,
    addresses: [...a.addresses],
    maxBinds: a.maxBinds,
    windowSize: a.windowSize,
    defaultValiditySeconds: a.defaultValiditySeconds,
    maxValiditySeconds: a.maxValiditySeconds,
    tps: a.tps ?? 0,
    maxQueued: a.maxQueued ?? 0,
    disabled: a.disabled === true,
    reassembleMo: a.reassembleMo === true,
    credential: a.passwordHash !== undefined ? 'hash' : a.password !== undefined ? 'password' : 'none',
  };
  if (a.allowedIps !== undefined) view.allowedIps = [...a.allowedIps];
  if (a.allowedSystemTypes !== undefined) view.allowedSystemTypes = [...a.allowedSystemTypes];
  if (a.outbind !== undefined) view.outbind = outbindView(a.outbind);
  return view;
}

/** An outbind as the API shows it: not its password (a secret), nor its CA certificates. */
export function outbindView(o: { host: string; port: number; tls?: boolean }): NonNullable<AccountView['outbind']> {
  return o.tls === true ? { host: o.host, port: o.port, tls: true } : { host: o.host, port: o.port };
}

/** The settings of a new account: what the input gives, the defaults for the rest. */
export function accountSettings(input: AccountInput) {
  return {
    maxBinds: input.maxBinds ?? ACCOUNT_DEFAULTS.maxBinds,
    windowSize: input.windowSize ?? ACCOUNT_DEFAULTS.windowSize,
    defaultValiditySeconds: input.defaultValiditySeconds ?? ACCOUNT_DEFAULTS.defaultValiditySeconds,
    maxValiditySeconds: input.maxValiditySeconds ?? ACCOUNT_DEFAULTS.maxValiditySeconds,
    tps: input.tps ?? ACCOUNT_DEFAULTS.tps,
    maxQueued: input.maxQueued ?? ACCOUNT_DEFAULTS.maxQueued,
    disabled: input.disabled ?? false,
    reassembleMo: input.reassembleMo ?? false,
  };
}

/** The account fields an update may change, as both the views and the stored rows hold them. */
type PatchableFields = Required<Omit<AccountPatch, 'allowedIps' | 'allowedSystemTypes' | 'outbind'>> & {
  allowedIps?: string[] | null;
  allowedSystemTypes?: string[] | null;
  outbind?: OutbindInput;
};

/** Applies an update's fields to `next` (lists copied); absent fields are kept. Returns `next`. */
export function applyAccountPatch<T extends PatchableFields>(next: T, patch: AccountPatch): T {
  if (patch.addresses !== undefined) next.addresses = [...patch.addresses];
  if (patch.allowedIps !== undefined) next.allowedIps = [...patch.allowedIps];
  if (patch.allowedSystemTypes !== undefined) next.allowedSystemTypes = [...patch.allowedSystemTypes];
  if (patch.maxBinds !== undefined) next.maxBinds = patch.maxBinds;
  if (patch.windowSize !== undefined) next.windowSize = patch.windowSize;
  if (patch.defaultValiditySeconds !== undefined) next.defaultValiditySeconds = patch.defaultValiditySeconds;
  if (patch.maxValiditySeconds !== undefined) next.maxValiditySeconds = patch.maxValiditySeconds;
  if (patch.tps !== undefined) next.tps = patch.tps;
  if (patch.maxQueued !== undefined) next.maxQueued = patch.maxQueued;
  if (patch.disabled !== undefined) next.disabled = patch.disabled;
  if (patch.reassembleMo !== undefined) next.reassembleMo = patch.reassembleMo;
  if (patch.outbind === null) delete next.outbind;
  else if (patch.outbind !== undefined) next.outbind = { ...patch.outbind };
  return next;
}

/**
 * Checks what JSON schemas cannot: CIDR ranges parse, the default validity fits the maximum, an
 * outbind's CA certificates parse and go with TLS. Throws `SMSC_ADMIN_ACCOUNT_INVALID` naming
 * the field.
 */
export function checkAccountFields(a: AccountInput | AccountPatch, current?: AccountView): void {
  const caPem = a.outbind?.caPem;
  if (caPem !== undefined) {
    if (a.outbind?.tls !== true) throw new AdminError('SMSC_ADMIN_ACCOUNT_INVALID', 'CA certificates are for an outbind over TLS: set tls: true', 'outbind.caPem');
    const problem = certificatesProblem(caPem);
    if (problem !== undefined) throw new AdminError('SMSC_ADMIN_ACCOUNT_INVALID', problem, 'outbind.caPem');
  }
  a.allowedIps?.forEach((range, i) => {
    try {
      parseCidr(range);
    } catch (err) {
      throw new AdminError('SMSC_ADMIN_ACCOUNT_INVALID', (err as Error).message, `allowedIps[${i}]`);
    }
  });
  const def = a.defaultValiditySeconds ?? current?.defaultValiditySeconds ?? ACCOUNT_DEFAULTS.defaultValiditySeconds;
  const max = a.maxValiditySeconds ?? current?.maxValiditySeconds ?? ACCOUNT_DEFAULTS.maxValiditySeconds;
  if (def > max) {
    throw new AdminError(
      'SMSC_ADMIN_ACCOUNT_INVALID',
      `defaultValiditySeconds (${def}) must not exceed maxValiditySeconds (${max})`,
      'defaultValiditySeconds',
    );
  }
}
