/**
 * Session states of SMPP ([ref §6.1]) and the transitions between them.
 * An illegal transition is a bug in this library and throws.
 */

export const SessionState = {
  /** TCP connected, not bound. */
  Open: 'OPEN',
  /** SMSC connected out and sent outbind; waiting for the ESME's bind. */
  Outbound: 'OUTBOUND',
  /** A bind request is on its way (ESME side) or being authenticated (SMSC side). */
  Binding: 'BINDING',
  BoundTx: 'BOUND_TX',
  BoundRx: 'BOUND_RX',
  BoundTrx: 'BOUND_TRX',
  /** unbind sent or received; only unbind_resp, enquire_link(_resp) and generic_nack remain. */
  Unbinding: 'UNBINDING',
  Closed: 'CLOSED',
} as const;
export type SessionState = (typeof SessionState)[keyof typeof SessionState];

const S = SessionState;
const allowed: Record<SessionState, readonly SessionState[]> = {
  [S.Open]: [S.Binding, S.Outbound, S.Closed],
  [S.Outbound]: [S.Binding, S.Closed],
  [S.Binding]: [S.BoundTx, S.BoundRx, S.BoundTrx, S.Open, S.Outbound, S.Closed],
  [S.BoundTx]: [S.Unbinding, S.Closed],
  [S.BoundRx]: [S.Unbinding, S.Closed],
  [S.BoundTrx]: [S.Unbinding, S.Closed],
  [S.Unbinding]: [S.Closed],
  [S.Closed]: [],
};

/** Throws when `from → to` is not a legal move. */
export function assertTransition(from: SessionState, to: SessionState): void {
  if (!allowed[from].includes(to)) throw new Error(`illegal session transition ${from} → ${to}`);
}

/** True in BOUND_TX, BOUND_RX and BOUND_TRX. */
export function isBound(s: SessionState): boolean {
  return s === S.BoundTx || s === S.BoundRx || s === S.BoundTrx;
}
/** The ESME may submit (TX, TRX). */
export function canTransmit(s: SessionState): boolean {
  return s === S.BoundTx || s === S.BoundTrx;
}
/** The SMSC may deliver (RX, TRX). */
export function canReceive(s: SessionState): boolean {
  return s === S.BoundRx || s === S.BoundTrx;
}

/** Bind types and their states. */
export const BindType = { transmitter: 'transmitter', receiver: 'receiver', transceiver: 'transceiver' } as const;
export type BindType = (typeof BindType)[keyof typeof BindType];

export function boundStateOf(type: BindType): SessionState {
  return type === 'transmitter' ? S.BoundTx : type === 'receiver' ? S.BoundRx : S.BoundTrx;
}
export function bindCommandOf(type: BindType): 'bind_transmitter' | 'bind_receiver' | 'bind_transceiver' {
  return `bind_${type}`;
}
export function bindTypeOfCommand(command: string): BindType | undefined {
  if (command === 'bind_transmitter' || command === 'bind_transmitter_resp') return 'transmitter';
  if (command === 'bind_receiver' || command === 'bind_receiver_resp') return 'receiver';
  if (command === 'bind_transceiver' || command === 'bind_transceiver_resp') return 'transceiver';
  return undefined;
}
