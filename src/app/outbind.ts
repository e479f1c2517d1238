/**
 * Outbind kept up ([ref §6.3]). For every account with `outbind` set, while none of its
 * sessions can take deliveries, the SMSC connects to the ESME and sends outbind; the ESME then
 * binds on that connection. A connection refused, a bind that never comes (session_init_timer)
 * or a session that ends is tried again after a back-off: 1 s, doubling up to a minute, back
 * to 1 s once a bind has lasted a minute. An ESME that binds by itself is left alone.
 * Accounts are read at every check (the live accounts: a reload of the config file included).
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { AccountConfig } from '../config/config.js';
import { errorText } from '../errors.js';
import type { Clock, TimerHandle } from '../session/clock.js';
import type { Session } from '../session/session.js';
import { SaidOnce } from '../util/said-once.js';

/** What of an account its outbind needs. */
export type OutbindAccount = Pick<AccountConfig, 'systemId' | 'password' | 'outbind'>;

export interface OutbindOptions {
  /** The accounts in force now. */
  accounts(): Iterable<OutbindAccount>;
  server: {
    outbind(target: { host: string; port: number; systemId: string; password: string; account?: string; tls?: boolean | ConnectionOptions }): Promise<Session>;
    receiversOf(systemId: string): readonly Session[];
  };
  /** Our system_id, sent in the outbind. */
  systemId: string;
  clock: Clock;
  /** Between checks, and the first back-off. Default 1000. */
  minDelayMs?: number;
  /** The longest back-off. Default 60,000. */
  maxDelayMs?: number;
}

interface Line {
  /** Not tried again before this time. */
  nextAt: number;
  delay: number;
  /** An attempt or its session under way. */
  busy: boolean;
  /** Why attempts fail, said once until it changes. */
  failure: SaidOnce;
}

export interface OutbindKeeper {
  /** Checks every account now (also done every minDelayMs). */
  check(): void;
  stop(): void;
}

export function keepOutbinds(o: OutbindOptions): OutbindKeeper {
  const min = o.minDelayMs ?? 1000;
  const max = o.maxDelayMs ?? 60_000;
  const lines = new Map<string, Line>();
  let stopped = false;
  let timer: TimerHandle | undefined;

  const backOff = (line: Line, lastedMs: number | undefined): void => {
    line.delay = lastedMs !== undefined && lastedMs >= max ? min : Math.min(line.delay * 2, max);
    line.nextAt = o.clock.now() + line.delay;
    line.busy = false;
  };

  const attempt = (a: OutbindAccount & { outbind: NonNullable<OutbindAccount['outbind']> }, line: Line): void => {
    line.busy = true;
    const b = a.outbind;
    // Refused, unreachable, a TLS certificate not verified, a CA file unreadable: tried again
    // after the back-off, said once until the reason changes.
    const failed = (err: unknown): void => {
      const why = `smsc: outbind of ${a.systemId} to ${b.host}:${b.port}: ${errorText(err)}; retrying`;
      if (line.failure.isNew(why)) console.error(why);
      backOff(line, undefined);
    };
    let secure: boolean | ConnectionOptions = false;
    try {
      // The CA file is read at each attempt: a replaced one applies to the next connection
      // (checked at start; an unreadable one now fails as a connection refused would).
      if (b.tls === true) secure = b.caPem !== undefined ? { ca: b.caPem } : b.ca !== undefined ? { ca: readFileSync(b.ca) } : true;
    } catch (err) {
      failed(err);
      return;
    }
    o.server
      .outbind({
        host: b.host,
        port: b.port,
        systemId: o.systemId,
        password: b.password ?? a.password ?? '',
        account: a.systemId,
        ...(secure !== false ? { tls: secure } : {}),
      })
      .then(
        (session) => {
          // Stopped meanwhile (the server refuses new outbinds once it closes, too).
          if (stopped) {
            session.destroy('stopping');
            return;
          }
          let boundAt: number | undefined;
          session.once('bound', () => {
            boundAt = o.clock.now();
            line.failure.clear();
          });
          void session.closed().then(() => {
            backOff(line, boundAt === undefined ? undefined : o.clock.now() - boundAt);
          });
        },
        failed,
      );
  };

  const check = (): void => {
    if (stopped) return;
    const now = o.clock.now();
    const seen = new Set<string>();
    for (const a of o.accounts()) {
      if (a.outbind === undefined) continue;
      seen.add(a.systemId);
      let line = lines.get(a.systemId);
      if (line === undefined) lines.set(a.systemId, (line = { nextAt: now, delay: min / 2, busy: false, failure: new SaidOnce() }));
      if (line.busy || now < line.nextAt) continue;
      if (o.server.receiversOf(a.systemId).length > 0) continue;
      attempt({ ...a, outbind: a.outbind }, line);
    }
    // An account that lost its outbind (or left) starts afresh if it gets one again.
    for (const [id, line] of lines) if (!seen.has(id) && !line.busy) lines.delete(id);
  };

  const schedule = (): void => {
    if (stopped) return;
    timer = o.clock.setTimer(() => {
      check();
      schedule();
    }, min);
  };
  check();
  schedule();
  return {
    check,
    stop() {
      stopped = true;
      timer?.cancel();
    },
  };
}
