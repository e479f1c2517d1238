/**
 * The SMSC as a child process, for end-to-end tests and benchmarks: writes a YAML config,
 * runs `node dist/src/cli/main.js start --config FILE`, waits for the "SMPP listening on" line
 * (the listener is on 127.0.0.1 port 0 unless told otherwise, so no port is ever guessed) and
 * can stop it gracefully (SIGTERM) or kill it (SIGKILL).
 *
 * Every child started here is remembered: `killAllSmscProcesses()` (for `after` hooks) kills
 * whatever is still running, and a process 'exit' hook SIGKILLs leftovers should the test
 * process end without running its hooks.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { type Client, connect } from '../../src/client/client.js';
import { CommandStatusError } from '../../src/errors.js';
import { EsmClass } from '../../src/pdu/constants.js';
import type { BindType } from '../../src/session/state.js';

/** The compiled CLI: this file is dist/test/support/smsc-process.js, the CLI dist/src/cli/main.js. */
export const CLI_PATH = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** One account of the generated config. */
export interface AccountSpec {
  systemId: string;
  password: string;
  addresses: string[];
  maxBinds?: number;
  windowSize?: number;
}

/** What to start. */
export interface SmscProcessOptions {
  /** Folder for the config file (and logs); created by the caller, e.g. with {@link tempDir}. */
  dir: string;
  /** Name of this start (config file name, error messages). Default 'smsc'. */
  label?: string;
  nodeId?: string;
  /** Listener port; default 0 (the SMSC picks a free port and prints it). */
  port?: number;
  store: { sqlite: { path: string } } | { postgres: { url: string; schema?: string } };
  /** Extra store keys (commitDelayMs, ...). */
  storeOptions?: Record<string, unknown>;
  /** `delivery:` section. */
  delivery?: Record<string, unknown>;
  /** Extra `smpp:` keys (windowSize, enquireLinkIntervalMs, ...). */
  smpp?: Record<string, unknown>;
  accounts: AccountSpec[];
  /** More top-level config sections (admin, network, routes, connectors, ...). */
  sections?: Record<string, unknown>;
  /** How long to wait for the listening line. Default 20000 ms. */
  startTimeoutMs?: number;
  /** Called with the process as soon as it is spawned, before it listens (e.g. to read a standby's output). */
  onSpawn?: (p: SmscProcess) => void;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

/** A fresh temp folder; remove it with `rm(dir, { recursive: true, force: true })`. */
export function tempDir(prefix = 'smsc-e2e-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Removes a temp folder, ignoring errors. */
export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true }).catch(() => {});
}

/** A running SMSC child process. */
export class SmscProcess {
  readonly child: ChildProcess;
  readonly configFile: string;
  readonly label: string;
  /** The port it listens on (read from its output). */
  port = 0;
  /** Resolves when the child has exited. */
  readonly exited: Promise<ExitInfo>;
  #output: string[] = [];
  #exit: ExitInfo | undefined;

  constructor(child: ChildProcess, configFile: string, label: string) {
    this.child = child;
    this.configFile = configFile;
    this.label = label;
    live.add(child);
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
    const keep = (chunk: Buffer) => {
      this.#output.push(chunk.toString('utf8'));
      if (this.#output.length > 200) this.#output.shift();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  /** True until the child has exited. */
  get running(): boolean {
    return this.#exit === undefined;
  }

  /** The last output of the child (stdout and stderr interleaved). */
  output(): string {
    return this.#output.join('');
  }

  /** SIGKILL (a crash: nothing is flushed, no unbind); resolves once the child is gone. */
  async kill(): Promise<ExitInfo> {
    if (this.#exit !== undefined) return this.#exit;
    this.child.kill('SIGKILL');
    return this.exited;
  }

  /** SIGTERM (graceful stop), SIGKILL if it is not gone within `graceMs`. */
  async stop(graceMs = 10_000): Promise<ExitInfo> {
    if (this.#exit !== undefined) return this.#exit;
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), graceMs);
    });
    const r = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (r === 'late') return this.kill();
    return r;
  }

  /** Connects and binds a client to this SMSC (127.0.0.1). */
  async client(type: BindType, account: { systemId: string; password: string }, window = 10): Promise<Client> {
    return bindClient(this.port, type, account, window);
  }
}

/** Connects to 127.0.0.1:`port` and binds; the session's outbound window is `window`. */
export async function bindClient(
  port: number,
  type: BindType,
  account: { systemId: string; password: string },
  window = 10,
): Promise<Client> {
  const client = await connect({
    host: '127.0.0.1',
    port,
    session: { windowSize: window, enquireLinkIntervalMs: 0 },
    maxBufferedDeliveries: 100_000,
  });
  try {
    await client.bind({ type, systemId: account.systemId, password: account.password });
  } catch (err) {
    client.session.destroy();
    throw err;
  }
  return client;
}

/** Closes a client without ever hanging (the SMSC may be dead): unbind bounded by `ms`. */
export async function closeQuietly(client: Client | undefined, ms = 2000): Promise<void> {
  if (client === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.close().catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
  client.session.destroy();
}

/** The YAML config of `o`. */
export function configYaml(o: SmscProcessOptions): string {
  const config = {
    nodeId: o.nodeId ?? 'n1',
    smpp: {
      listeners: [{ host: '127.0.0.1', port: o.port ?? 0 }],
      enquireLinkIntervalMs: 0,
      ...o.smpp,
    },
    store: { ...o.store, ...o.storeOptions },
    ...(o.delivery !== undefined ? { delivery: o.delivery } : {}),
    accounts: o.accounts.map((a) => ({
      systemId: a.systemId,
      password: a.password,
      addresses: a.addresses,
      maxBinds: a.maxBinds ?? 8,
      windowSize: a.windowSize ?? 10,
    })),
    ...o.sections,
  };
  return stringify(config);
}

/** Writes the config and starts the SMSC; resolves once it listens. */
export async function startSmscProcess(o: SmscProcessOptions): Promise<SmscProcess> {
  installExitHook();
  const label = o.label ?? 'smsc';
  const configFile = join(o.dir, `${label}.yaml`);
  await writeFile(configFile, configYaml(o));
  // SMSC_NODE_ARGS: extra node flags for the SMSC process, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`
  // to profile it under a benchmark (node refuses --cpu-prof in NODE_OPTIONS).
  const nodeArgs = (process.env['SMSC_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
  const child = spawn(process.execPath, [...nodeArgs, CLI_PATH, 'start', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: o.dir,
  });
  const p = new SmscProcess(child, configFile, label);
  o.onSpawn?.(p);
  const timeoutMs = o.startTimeoutMs ?? 20_000;
  let timer: NodeJS.Timeout | undefined;
  let onData: ((chunk: Buffer) => void) | undefined;
  try {
    p.port = await new Promise<number>((resolve, reject) => {
      let seen = '';
      onData = (chunk: Buffer) => {
        seen += chunk.toString('utf8');
        const m = /SMPP listening on [^\s]+:(\d+)/.exec(seen);
        if (m !== null) resolve(Number(m[1]));
      };
      child.stdout?.on('data', onData);
      child.once('error', reject);
      void p.exited.then((e) =>
        reject(new Error(`${label} exited before listening (code ${e.code}, signal ${e.signal}):\n${p.output()}`)),
      );
      timer = setTimeout(() => reject(new Error(`${label} not listening within ${timeoutMs} ms:\n${p.output()}`)), timeoutMs);
    });
  } catch (err) {
    await p.kill();
    throw err;
  } finally {
    clearTimeout(timer);
    if (onData !== undefined) child.stdout?.off('data', onData);
  }
  return p;
}

/** Kills every SMSC child still running (for `after` hooks). */
export async function killAllSmscProcesses(): Promise<void> {
  const children = [...live];
  for (const c of children) c.kill('SIGKILL');
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) resolve();
          else c.once('exit', () => resolve());
        }),
    ),
  );
}

/** What a {@link DeliveryCollector} saw of one delivered text. */
export interface Collected {
  /** deliver_sm (not receipts) per text. */
  texts: Map<string, number>;
  /** Receipts per receipted_message_id. */
  receipts: Map<string, number>;
}

/**
 * Consumes the deliveries of one or more receiver clients (acknowledged on arrival) and
 * counts them: deliver_sm texts (latin1) and receipts (by receipted_message_id).
 */
export class DeliveryCollector {
  readonly texts = new Map<string, number>();
  readonly receipts = new Map<string, number>();
  /** deliver_sm (not receipts) seen, duplicates included. */
  messages = 0;
  /** Receipts seen, duplicates included. */
  receiptCount = 0;
  /** Deliveries per client index (spread over nodes or sessions). */
  readonly perClient: number[] = [];
  /** Date.now() of the latest delivery. */
  lastAt = 0;
  readonly #loops: Promise<void>[] = [];

  /** Starts consuming `client`'s deliveries. */
  add(client: Client): void {
    const index = this.perClient.length;
    this.perClient.push(0);
    this.#loops.push(
      (async () => {
        for await (const d of client.deliveries()) {
          if (d.command !== 'deliver_sm' && d.command !== 'data_sm') continue;
          this.lastAt = Date.now();
          this.perClient[index]!++;
          const receipt = d.command === 'deliver_sm' && (d.esmClass & EsmClass.TypeMask) === EsmClass.TypeDeliveryReceipt;
          if (receipt) {
            const id = d.tlvs.receiptedMessageId ?? '';
            this.receipts.set(id, (this.receipts.get(id) ?? 0) + 1);
            this.receiptCount++;
          } else {
            const body = d.tlvs.messagePayload ?? (d.command === 'deliver_sm' ? d.shortMessage : Buffer.alloc(0));
            const text = body.toString('latin1');
            this.texts.set(text, (this.texts.get(text) ?? 0) + 1);
            this.messages++;
          }
        }
      })().catch(() => {}),
    );
  }

  /** Waits (bounded) until `cond()` holds; false when `ms` passed first. */
  async until(cond: () => boolean, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) return false;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return true;
  }

  /** Waits until nothing arrived for `quietMs` (at most `maxMs`), to catch late duplicates. */
  async quiet(quietMs: number, maxMs: number): Promise<void> {
    const end = Date.now() + maxMs;
    const start = Date.now();
    while (Date.now() < end && Date.now() - Math.max(this.lastAt, start) < quietMs) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Deliveries beyond the first, summed over texts. */
  duplicateTexts(): number {
    let n = 0;
    for (const c of this.texts.values()) n += c - 1;
    return n;
  }
}

/** A receiver of `account` that never answers its deliver_sm: the SMSC leases them all, in flight or held. */
export async function bindStuckReceiver(port: number, account: { systemId: string; password: string }): Promise<Client> {
  const client = await connect({ host: '127.0.0.1', port, manualAck: true, session: { enquireLinkIntervalMs: 0 } });
  try {
    await client.bind({ type: 'receiver', systemId: account.systemId, password: account.password });
  } catch (err) {
    client.session.destroy();
    throw err;
  }
  return client;
}

/** Submits under way from {@link startLoad}. */
export interface Load {
  /** Numbers of the submits answered ESME_ROK. */
  readonly acked: Set<number>;
  /** Numbers of the submits that got no answer (the connection lost). */
  readonly unanswered: Set<number>;
  /** Stops submitting at once (no new submit starts); resolves once those under way have settled. */
  stop(): Promise<void>;
}

/**
 * Submits from `from` to `to` through `senders`, `window` at a time on each, the text of the
 * nth submit `text(n)`, at most `max` in all. A submit refused with a command_status fails the
 * load (its stop() rejects).
 */
export function startLoad(senders: readonly Client[], o: { window: number; max: number; from: string; to: string; text: (n: number) => string }): Load {
  const acked = new Set<number>();
  const unanswered = new Set<number>();
  let next = 0;
  let stopped = false;
  const worker = async (client: Client) => {
    while (!stopped && next < o.max) {
      const n = next++;
      try {
        await client.submit({ sourceAddr: o.from, destinationAddr: o.to, shortMessage: Buffer.from(o.text(n), 'latin1') });
        acked.add(n);
      } catch (err) {
        if (err instanceof CommandStatusError) throw err;
        unanswered.add(n);
      }
    }
  };
  const loops = senders.flatMap((c) => Array.from({ length: o.window }, () => worker(c)));
  const settled = Promise.all(loops).then(() => {});
  settled.catch(() => {});
  return {
    acked,
    unanswered,
    stop() {
      stopped = true;
      return settled;
    },
  };
}

/** Waits (bounded by `ms`) until `cond()` holds; false when the time ran out. */
export async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}
