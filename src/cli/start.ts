/**
 * `smsc start`: load (or on first start create) the config, start the SMSC, stop cleanly on
 * SIGINT/SIGTERM.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { startStandbyAdmin } from '../admin/standby.js';
import { adminHostPort, prepareAdmin } from '../app/admin.js';
import { startSmsc } from '../app/smsc.js';
import { type Config, ConfigError, loadConfig } from '../config/config.js';

const DEFAULT_CONFIG = 'data/smsc.yaml';

/** 8 characters (the SMPP password maximum) from an unambiguous alphabet. */
function newPassword(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789';
  // randomInt draws uniformly (a byte modulo 54 would favour the first 40 characters).
  return Array.from({ length: 8 }, () => alphabet[randomInt(alphabet.length)]).join('');
}

/** Writes the demo config of the first start (exported for the test that it validates). */
export function writeDemoConfig(file: string): { alice: string; bob: string; token: string } {
  const alice = newPassword();
  const bob = newPassword();
  const token = randomBytes(18).toString('base64url');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(
    file,
    `# Demo configuration written by the first 'smsc start'. Passwords were generated for this machine.
# See config/smsc.example.yaml for every option.
smpp:
  listeners:
    - { host: 127.0.0.1, port: 2775 }
store:
  sqlite: { path: ./smsc.db }
admin:
  listen: 127.0.0.1:8775     # HTTP API, /metrics and the dashboard
  token: ${token}
accounts:
  - systemId: alice          # an application that sends (MT) and gets receipts
    password: ${alice}
    addresses: ["1000"]
  - systemId: bob            # an application that owns short code 2000 (MT and MO to 2000 reach it)
    password: ${bob}
    addresses: ["2000"]
routes:
  mt:
    - { prefix: "44", connector: network }   # UK numbers go to the simulated mobile network
  mo:
    - { match: "2000", account: bob }
network:                     # the built-in simulated mobile network
  ranges:
    - { prefix: "4470", latencyMs: 200, successRatio: 1 }
    - { prefix: "4471", latencyMs: 500, successRatio: 0.7, failure: absent }
    - { prefix: "4479", latencyMs: 100, successRatio: 0, failure: unknown }
`,
    { mode: 0o600 },
  );
  return { alice, bob, token };
}

/** The levels of SMSC_LOG_LEVEL (the admin API's pino log; default info). */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export async function startCommand(args: string[], help: string): Promise<void> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, help: { type: 'boolean', default: false } } });
  if (values.help) {
    console.log(help);
    return;
  }
  const file = values.config ?? process.env['SMSC_CONFIG'] ?? DEFAULT_CONFIG;
  // Checked before anything starts (pino refused it only once SMPP was listening).
  const level = process.env['SMSC_LOG_LEVEL'];
  if (level !== undefined && !LOG_LEVELS.includes(level)) {
    console.error(`SMSC_LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')} (got '${level}')`);
    process.exit(1);
  }
  // Only the default file is made on a first start: a file named by --config or SMSC_CONFIG that
  // is missing is an error (loadConfig says so), not a reason to run the demo.
  if (values.config === undefined && process.env['SMSC_CONFIG'] === undefined && !existsSync(file)) {
    const pw = writeDemoConfig(file);
    console.log(`First start: wrote a demo config to ${file} with these generated credentials:
  system_id alice  password ${pw.alice}   (owns address 1000)
  system_id bob    password ${pw.bob}   (owns address 2000)
  admin token ${pw.token}   (dashboard: http://127.0.0.1:8775/?token=${pw.token})
Try:  npx smsc listen --port 2775 --system-id bob --password ${pw.bob}
      npx smsc send --port 2775 --system-id alice --password ${pw.alice} --from 1000 --to 2000 --text "Hello Bob" --dlr
      npx smsc send --port 2775 --system-id alice --password ${pw.alice} --from 1000 --to 447000000001 --text "Hi handset" --dlr`);
  }
  let config: Config;
  try {
    config = loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const observer: NonNullable<Parameters<typeof startSmsc>[1]>['observer'] = {};
  // A fatal error (the shared database migrated past this code; startSmsc logs it) takes the
  // SIGTERM path, then exits 1. It is only reported once startSmsc has resolved.
  // A standby node (cluster.mode active-standby) waits inside startSmsc. A signal meanwhile
  // ends the wait (it holds nothing yet), or, when the node was already starting, stops it
  // once started; SIGHUP does not kill it.
  const standby = new AbortController();
  // A second signal does not wait (a start stuck on an unreachable database).
  const quit = () => (standby.signal.aborted ? process.exit(1) : standby.abort());
  const hangUp = () => {};
  process.on('SIGINT', quit);
  process.on('SIGTERM', quit);
  process.on('SIGHUP', hangUp);
  // While it stands by, the admin address answers health checks (503, standby) and /metrics.
  const waiting = config.cluster.mode === 'active-standby' && config.admin !== undefined ? await standbyAdmin(config) : undefined;
  let smsc: Awaited<ReturnType<typeof startSmsc>>;
  try {
    smsc = await startSmsc(config, { observer, onFatal: () => stop(1), signal: standby.signal });
  } catch (err) {
    if (standby.signal.aborted) process.exit(0);
    await waiting?.close();
    throw err;
  } finally {
    process.off('SIGINT', quit);
    process.off('SIGTERM', quit);
    process.off('SIGHUP', hangUp);
  }
  let admin: { address: string; close(): Promise<void> } | undefined;
  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('stopping: unbinding sessions');
    Promise.resolve(admin?.close())
      .then(() => smsc.stop())
      .then(
        () => process.exit(code),
        () => process.exit(1),
      );
  };
  // A second signal while stopping (sessions that never answer their unbind keep it waiting
  // up to the response timer) exits at once: what was accepted is stored already.
  const onSignal = () => {
    if (!stopping) {
      stop(0);
      return;
    }
    console.error('smsc: stopping at once (second signal): requests still unanswered are for the ESMEs to send again');
    process.exit(1);
  };
  // Signal handlers first: whoever reads the lines below may signal at once.
  if (standby.signal.aborted) stop(0);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // SIGHUP re-reads the config file and replaces the routes (other sections need a restart).
  process.on('SIGHUP', () => {
    try {
      smsc.reloadRoutes(loadConfig(file)['routes']);
      console.log(
        smsc.live.routes().source === 'store'
          ? `routes of ${file} read; the routes stored through the admin API stay in force (smsc route clear goes back to the file's)`
          : `routes reloaded from ${file}`,
      );
    } catch (err) {
      console.error(`routes not reloaded: ${(err as Error).message}`);
    }
  });
  // Signal handlers first: whoever reads the lines below may signal at once.
  for (const l of smsc.listening) console.log(`SMPP listening on ${l.host}:${l.port}${l.tls ? ' (TLS)' : ''}`);
  // The full admin app takes the standby listener's address: built and ready first, so that
  // the address answers nothing only while the app binds it (a load balancer's health check).
  const prepared = config.admin !== undefined ? await prepareAdmin(smsc, config.admin, observer) : undefined;
  await waiting?.close();
  if (config.admin !== undefined && prepared !== undefined) {
    admin = await prepared.listen();
    console.log(`admin API and dashboard on http://${admin.address}/ (metrics at /metrics${config.admin.publicMetrics ? '' : ', with the token'})`);
  }
}

/**
 * The admin listener of a node until it is active (src/admin/standby.ts). One that cannot
 * listen (the address taken) leaves the node standing by without it.
 */
async function standbyAdmin(config: Config): Promise<{ close(): Promise<void> } | undefined> {
  const admin = config.admin!;
  const { host, port } = adminHostPort(admin.listen);
  try {
    const listener = await startStandbyAdmin({ host, port, token: admin.token, nodeId: config.nodeId, publicMetrics: admin.publicMetrics });
    console.log(`admin API standing by on http://${listener.address}/ (health at /health) until this node is active`);
    return listener;
  } catch (err) {
    console.error(`smsc: no admin API while standing by: ${(err as Error).message}`);
    return undefined;
  }
}
