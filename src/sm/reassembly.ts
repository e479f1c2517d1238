/**
 * Reassembly of concatenated messages (UDH IE 0x00/0x08 or SAR TLVs). [ref §8.6]
 */
import { EsmClass } from '../pdu/constants.js';
import { type ConcatInfo, concatInfoOfUdh, isValidConcat, parseUdh } from './udh.js';

/** One part handed to {@link Reassembler.add}. */
export interface ConcatPart extends ConcatInfo {
  /**
   * Identifies the conversation the reference belongs to, e.g. source + destination +
   * account. Parts only join parts with the same key, reference and total.
   */
  key: string;
  /** User data of this part, UDH already removed. */
  data: Buffer;
}

/** Why a pending group was given up. */
export type DropReason = 'expired' | 'evicted';

/** A group that was given up before all its parts arrived. */
export interface DroppedGroup {
  key: string;
  ref: number;
  total: number;
  /** Parts received so far, indexed by seq - 1 (holes are undefined). */
  parts: ReadonlyArray<Buffer | undefined>;
  reason: DropReason;
}

/** Options of {@link Reassembler}. */
export interface ReassemblerOptions {
  /** Give a group up this many ms after its first part arrived. Default 300000 (5 min). */
  timeoutMs?: number;
  /** At most this many incomplete groups; the oldest is evicted beyond. Default 10000. */
  maxPendingGroups?: number;
  /** At most this many buffered octets; the oldest groups are evicted beyond. Default 64 MiB. */
  maxPendingBytes?: number;
  /** Told about every group that is expired or evicted (e.g. to log or deliver it partially). */
  onDrop?: (group: DroppedGroup) => void;
}

interface Group {
  key: string;
  ref: number;
  total: number;
  parts: (Buffer | undefined)[];
  received: number;
  bytes: number;
  firstSeen: number;
}

/**
 * Collects the parts of concatenated messages and returns each message once all its parts
 * are in. Duplicates are ignored, incomplete groups are dropped after a timeout (by
 * {@link Reassembler.expire}, and lazily when a late part arrives) and memory is bounded by a
 * group count and an octet count. Time is passed in by the caller, so no timers run here.
 */
export class Reassembler {
  // Map iteration order is insertion order: the first entry is the oldest group, which makes
  // eviction O(1).
  #groups = new Map<string, Group>();
  #pendingBytes = 0;
  readonly #timeoutMs: number;
  readonly #maxGroups: number;
  readonly #maxBytes: number;
  readonly #onDrop: ((group: DroppedGroup) => void) | undefined;

  constructor(opts: ReassemblerOptions = {}) {
    this.#timeoutMs = opts.timeoutMs ?? 300_000;
    this.#maxGroups = Math.max(1, opts.maxPendingGroups ?? 10_000);
    this.#maxBytes = opts.maxPendingBytes ?? 64 * 1024 * 1024;
    this.#onDrop = opts.onDrop;
  }

  /** Number of incomplete groups held. */
  get pendingGroups(): number {
    return this.#groups.size;
  }

  /** Octets held in incomplete groups. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /**
   * Adds a part received at time `now` (ms). Returns the whole user data, parts concatenated
   * in seq order, when this part completes its group; otherwise undefined (also for a
   * duplicate). A single-part message (total 1) is returned at once.
   * @throws RangeError if seq/total are not 1 <= seq <= total <= 255.
   */
  add(part: ConcatPart, now: number): Buffer | undefined {
    const { key, ref, total, seq } = part;
    if (!isValidConcat(total, seq)) throw new RangeError(`invalid concatenation part ${seq}/${total}`);
    if (total === 1) return Buffer.from(part.data);
    const id = `${key}\u0000${ref}\u0000${total}`;
    let group = this.#groups.get(id);
    if (group !== undefined && now - group.firstSeen >= this.#timeoutMs) {
      this.#drop(id, group, 'expired');
      group = undefined;
    }
    if (group === undefined) {
      while (this.#groups.size >= this.#maxGroups) this.#evictOldest();
      group = { key, ref, total, parts: new Array(total).fill(undefined), received: 0, bytes: 0, firstSeen: now };
      this.#groups.set(id, group);
    }
    if (group.parts[seq - 1] !== undefined) return undefined;
    // Copy: the part may be a view into a large socket buffer that must not stay pinned for
    // the whole timeout.
    group.parts[seq - 1] = Buffer.from(part.data);
    group.received++;
    group.bytes += part.data.length;
    this.#pendingBytes += part.data.length;
    if (group.received === total) {
      this.#groups.delete(id);
      this.#pendingBytes -= group.bytes;
      return Buffer.concat(group.parts as Buffer[], group.bytes);
    }
    while (this.#pendingBytes > this.#maxBytes && this.#groups.size > 0) this.#evictOldest();
    return undefined;
  }

  /** Drops every group whose first part arrived `timeoutMs` or more before `now`. Returns how many. */
  expire(now: number): number {
    let dropped = 0;
    for (const [id, group] of this.#groups) {
      if (now - group.firstSeen >= this.#timeoutMs) {
        this.#drop(id, group, 'expired');
        dropped++;
      }
    }
    return dropped;
  }

  /** Drops everything (no onDrop calls). */
  clear(): void {
    this.#groups.clear();
    this.#pendingBytes = 0;
  }

  #evictOldest(): void {
    const first = this.#groups.entries().next();
    if (first.done !== true) this.#drop(first.value[0], first.value[1], 'evicted');
  }

  #drop(id: string, group: Group, reason: DropReason): void {
    this.#groups.delete(id);
    this.#pendingBytes -= group.bytes;
    this.#onDrop?.({ key: group.key, ref: group.ref, total: group.total, parts: group.parts, reason });
  }
}

/** The concatenation fields of a submit_sm / deliver_sm / data_sm, as decoded. */
export interface ConcatSource {
  esmClass: number;
  shortMessage: Buffer;
  /** Used instead of short_message when that is empty. [ref §4.4] */
  messagePayload?: Buffer | undefined;
  sarMsgRefNum?: number | undefined;
  sarTotalSegments?: number | undefined;
  sarSegmentSeqnum?: number | undefined;
}

/** Where a message's concatenation info came from. */
export type ConcatKind = 'udh8' | 'udh16' | 'sar';

/** Concatenation info of a message plus its user data without UDH. */
export interface MessageConcat extends ConcatInfo {
  kind: ConcatKind;
  /** User data with the UDH (all of it, other IEs included) removed. */
  data: Buffer;
}

/**
 * The concatenation info of a message: from the UDH when esm_class has UDHI and the UDH holds
 * a valid IE 0x00/0x08, else from the SAR TLVs when all three are present and valid
 * (ref 0-65535, 1 <= seq <= total <= 255). Undefined when the message is not a valid part.
 * A UDH without concatenation IE (e.g. port addressing) is removed from SAR parts' data too.
 * [ref §8.6]
 */
export function concatInfoOf(msg: ConcatSource): MessageConcat | undefined {
  const content =
    msg.shortMessage.length === 0 && msg.messagePayload !== undefined ? msg.messagePayload : msg.shortMessage;
  const udh = (msg.esmClass & EsmClass.Udhi) !== 0 ? parseUdh(content) : undefined;
  const data = udh === undefined ? content : content.subarray(udh.length);
  const info = udh === undefined ? undefined : concatInfoOfUdh(udh);
  if (info !== undefined) {
    return { kind: info.refBits === 8 ? 'udh8' : 'udh16', ref: info.ref, total: info.total, seq: info.seq, data };
  }
  const { sarMsgRefNum: ref, sarTotalSegments: total, sarSegmentSeqnum: seq } = msg;
  // [ref §8.6] "all three must be present together (otherwise ignore them)"
  if (ref === undefined || total === undefined || seq === undefined) return undefined;
  if (!Number.isInteger(ref) || ref < 0 || ref > 0xffff || !isValidConcat(total, seq)) return undefined;
  return { kind: 'sar', ref, total, seq, data };
}
