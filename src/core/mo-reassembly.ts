/**
 * MO reassembly for accounts that ask for it (`reassembleMo`): the parts of a concatenated MO
 * message (UDH concatenation IE, or SAR TLVs) are stored as they arrive, parked on a target nobody serves
 * (`hold:<account>`), so an accepted part is never lost; once every part is in, one message
 * carrying the whole text in message_payload is stored for the account and the parts end as
 * DELIVERED (they were, inside the joined message). Parts still incomplete after the timeout
 * are delivered as they are, each to the account. After a restart the parked parts are read
 * back from the store.
 *
 * Parts are joined per node: parts of one message that arrive on different cluster nodes are
 * delivered separately after the timeout.
 */
import { EsmClass } from '../pdu/constants.js';
import { decodeTlvs } from '../pdu/decode.js';
import { encodeTlvs } from '../pdu/encode.js';
import type { Tlvs } from '../pdu/types.js';
import type { Clock, TimerHandle } from '../session/clock.js';
import { concatInfoOfUdh, parseUdh } from '../sm/udh.js';
import type { NewMessage, Store, StoredMessage } from '../store/types.js';
import type { MessageIdGenerator } from './message-id.js';

/** The parking target of an account's incomplete MO parts. */
export const holdTarget = (account: string): string => `hold:${account}`;

/** A part's place in its concatenated message, and its text without the UDH. */
export interface MoPart {
  ref: number;
  /** An 8-bit and a 16-bit reference of the same value are different messages. */
  refBits: 8 | 16;
  total: number;
  seq: number;
  data: Buffer;
}

/**
 * The concatenation info of an MO message, or undefined when it is not a part (or a lone one):
 * from its UDH (concatenation IE), or from its SAR TLVs (sar_msg_ref_num, a 16-bit reference).
 */
export function moPartOf(m: Pick<NewMessage, 'esmClass' | 'payload' | 'tlvs'>): MoPart | undefined {
  if ((m.esmClass & EsmClass.Udhi) === 0) return sarPartOf(m);
  const udh = parseUdh(m.payload);
  if (udh === undefined) return undefined;
  const info = concatInfoOfUdh(udh);
  if (info === undefined || info.total < 2) return undefined;
  return { ref: info.ref, refBits: info.refBits, total: info.total, seq: info.seq, data: m.payload.subarray(udh.length) };
}

function sarPartOf(m: Pick<NewMessage, 'payload' | 'tlvs'>): MoPart | undefined {
  if (m.tlvs === null || m.tlvs.length === 0) return undefined;
  let tlvs: Tlvs;
  try {
    tlvs = decodeTlvs(m.tlvs);
  } catch {
    return undefined;
  }
  const { sarMsgRefNum: ref, sarTotalSegments: total, sarSegmentSeqnum: seq } = tlvs;
  if (ref === undefined || total === undefined || seq === undefined || total < 2 || seq < 1 || seq > total) return undefined;
  return { ref, refBits: 16, total, seq, data: m.payload };
}

/** A joined message's TLVs: its first part's, but the SAR ones (it is whole now). */
function withoutSar(tlvs: Buffer | null): Buffer | null {
  if (tlvs === null || tlvs.length === 0) return tlvs;
  try {
    const { sarMsgRefNum: _ref, sarTotalSegments: _total, sarSegmentSeqnum: _seq, ...rest } = decodeTlvs(tlvs);
    return Object.keys(rest).length === 0 ? null : encodeTlvs(rest);
  } catch {
    return null;
  }
}

/** The parts of a group by their sequence number. */
function inOrder(g: Group): (StoredMessage | NewMessage)[] {
  return [...g.parts.entries()].sort(([a], [b]) => a - b).map(([, m]) => m);
}

interface Group {
  total: number;
  /** Stored part ids by seq. */
  parts: Map<number, StoredMessage | NewMessage>;
  timer: TimerHandle;
}

export interface MoAssemblerOptions {
  store: Store;
  /** This node: after a restart it takes back only the parts it accepted itself (unless `soleNode`). */
  nodeId: string;
  /**
   * The only node delivering (the active one of active-standby): a restart takes back every
   * node's parts, those of a node gone for good included.
   */
  soleNode?: boolean;
  clock: Clock;
  ids: MessageIdGenerator;
  /** Parts wait this long for the rest, ms. */
  timeoutMs: number;
  /** Messages for `target` were stored or moved (wakes the scheduler). */
  onStored(target: string): void;
}

export class MoAssembler {
  readonly #o: MoAssemblerOptions;
  readonly #groups = new Map<string, Group>();
  /** Set by close(): timers that still fire do nothing. */
  #closed = false;
  #sweepTimer: TimerHandle | undefined;

  constructor(options: MoAssemblerOptions) {
    this.#o = options;
  }

  /** Incomplete groups held in memory. */
  get pending(): number {
    return this.#groups.size;
  }

  /**
   * Stores one part, parked, and joins its message when it was the last one missing.
   * `record` is the part as it would be stored for delivery (target `esme:<account>`).
   */
  async add(record: NewMessage, part: MoPart): Promise<void> {
    const parked: NewMessage = { ...record, target: holdTarget(record.account) };
    await this.#o.store.insert([parked]);
    await this.#track(parked, part);
  }

  /** Reads back the parked parts of `accounts` after a restart; completes what can be. */
  async recover(accounts: readonly string[]): Promise<void> {
    for (const account of accounts) {
      const parked = await this.#o.store.find({ target: holdTarget(account), state: 'ENROUTE', limit: 100_000 });
      // find() is newest first: track in arrival order. Parts another running node accepted
      // are its own to join (joining them here too would deliver them twice), unless this is
      // the only node delivering.
      for (const m of parked.reverse()) {
        if (this.#o.soleNode !== true && m.originNode !== null && m.originNode !== this.#o.nodeId) continue;
        const part = moPartOf(m);
        if (part === undefined) await this.#release([m]);
        else await this.#track(m, part);
      }
    }
  }

  /**
   * Every `timeoutMs`, parts another node parked more than twice the timeout ago are delivered
   * as they are: that node is gone (it would have joined or released them after one timeout),
   * or renamed, and nothing else would ever deliver them.
   */
  sweepOrphans(accounts: () => Iterable<string>): void {
    if (this.#closed) return;
    this.#sweepTimer = this.#o.clock.setTimer(() => {
      void this.#sweep([...accounts()])
        .catch(() => {})
        .finally(() => this.sweepOrphans(accounts));
    }, this.#o.timeoutMs);
  }

  async #sweep(accounts: readonly string[]): Promise<void> {
    const before = this.#o.clock.now() - 2 * this.#o.timeoutMs;
    for (const account of accounts) {
      const parked = await this.#o.store.find({ target: holdTarget(account), state: 'ENROUTE', to: before, limit: 10_000 });
      const orphans = parked.filter((m) => m.originNode !== this.#o.nodeId).reverse();
      if (orphans.length > 0) await this.#release(orphans);
    }
  }

  /** Stops the timers (parked parts stay in the store for the next start). */
  close(): void {
    this.#closed = true;
    this.#sweepTimer?.cancel();
    for (const g of this.#groups.values()) g.timer.cancel();
    this.#groups.clear();
  }

  async #track(m: StoredMessage | NewMessage, part: MoPart): Promise<void> {
    const key = `${m.account}\u0000${m.source.addr}\u0000${m.destination.addr}\u0000${part.refBits}:${part.ref}\u0000${part.total}`;
    let g = this.#groups.get(key);
    if (g === undefined) {
      const timer = this.#o.clock.setTimer(() => void this.#expire(key), this.#o.timeoutMs);
      g = { total: part.total, parts: new Map(), timer };
      this.#groups.set(key, g);
    }
    if (g.parts.has(part.seq)) {
      // A repeated part (the handset sent it again): deliver the copy as it is.
      await this.#release([m]);
      return;
    }
    g.parts.set(part.seq, m);
    if (g.parts.size === g.total) {
      this.#groups.delete(key);
      g.timer.cancel();
      try {
        await this.#join(g);
      } catch {
        // Not joined (a store error): deliver what is there as it is rather than park it for good.
        await this.#release([...g.parts.values()]).catch(() => {});
      }
    }
  }

  async #join(g: Group): Promise<void> {
    const parts = inOrder(g);
    const first = parts[0]!;
    const payload = Buffer.concat(parts.map((m) => moPartOf(m)!.data));
    const now = this.#o.clock.now();
    const joined: NewMessage = {
      ...first,
      id: this.#o.ids.next(),
      target: `esme:${first.account}`,
      esmClass: first.esmClass & ~EsmClass.Udhi,
      payload,
      payloadInTlv: true,
      tlvs: withoutSar(first.tlvs),
      submittedAt: now,
      scheduleAt: now,
    };
    delete joined.failover;
    // The joined message first: a crash between the two statements can only repeat it.
    await this.#o.store.insert([joined]);
    this.#o.onStored(joined.target);
    // Together: the store commits them as one batch.
    await Promise.all(parts.map((m) => this.#o.store.finalize(m.id, 'DELIVERED', now, 0, undefined, 'reassembled')));
  }

  async #expire(key: string): Promise<void> {
    const g = this.#groups.get(key);
    if (g === undefined || this.#closed) return;
    this.#groups.delete(key);
    // In their order in the message, not the order they came in.
    await this.#release(inOrder(g)).catch(() => {});
  }

  /** Delivers parked parts as they are (only those still parked: never one already moved). */
  async #release(parts: readonly (StoredMessage | NewMessage)[]): Promise<void> {
    const now = this.#o.clock.now();
    for (const m of parts) {
      const current = await this.#o.store.get(m.id);
      if (current === undefined || current.target !== holdTarget(m.account) || current.state !== 'ENROUTE') continue;
      const target = `esme:${m.account}`;
      if (await this.#o.store.reroute(m.id, target, [], now, null)) this.#o.onStored(target);
    }
  }
}
