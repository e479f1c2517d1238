/**
 * The checks of a config beyond its schema, shared by `smsc config check` and `startSmsc` (so
 * both refuse the same configs, naming the same key): the connectors, network and routes
 * sections with their own parsers and cross-references, command_status names, allowedIps
 * ranges and readable TLS files.
 */
import { X509Certificate } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { attemptBudgetMs, type Config, ConfigError } from '../config/config.js';
import { certificatesProblem } from '../config/pem.js';
import { HTTP_TIMEOUT_MS, parseHttp } from '../connectors/http.js';
import { type NetworkConfig, parseNetwork } from '../connectors/network.js';
import { parseSmpp, SMPP_RESPONSE_TIMEOUT_MS } from '../connectors/smpp.js';
import { commandStatusByName } from '../pdu/constants.js';
import { ConfigKeyError, parseRoutes, type RoutesConfig } from '../routing/index.js';
import { parseCidr } from '../server/accounts.js';

/** Connector names: config keys, also stored comma-separated in failover lists. */
export const CONNECTOR_NAME = /^[A-Za-z0-9_.:-]+$/;

/** Runs a section parser, reporting its errors as ConfigError (naming the key). */
export function asConfigError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ConfigKeyError) throw new ConfigError(err.key, err.reason);
    throw err;
  }
}

/** What the sections parsed elsewhere hold, for the summary. */
export interface SectionsSummary {
  /** Connector names routes may use (`network` when the network section is present). */
  connectors: string[];
  routes: RoutesConfig;
}


/** A connector's attempt timeout (`key`) must end within the lease of the message it carries. */
function checkAttemptFits(config: Config, key: string, timeoutMs: number): void {
  const budget = attemptBudgetMs(config.delivery.leaseMs);
  if (timeoutMs >= budget) {
    throw new ConfigError(
      key,
      `must be less than ${budget} ms, the attempt time left by delivery.leaseMs (${config.delivery.leaseMs} ms, a tenth kept for recording the outcome): an attempt still running when its lease ends could be sent twice`,
    );
  }
}

/**
 * The simulated network's fixed latency (with a uniform jitter's most) must fit an attempt's
 * time too; an exponential tail is cut at that time by the network itself.
 */
function checkLatencyFits(config: Config, path: string, network: NetworkConfig): void {
  network.ranges.forEach((r, i) => {
    const jitter = r.latencyDistribution === 'exponential' ? 0 : (r.latencyJitterMs ?? 0);
    checkAttemptFits(config, `${path}.ranges[${i}].latencyMs`, (r.latencyMs ?? 0) + jitter);
  });
}

/** @throws ConfigError naming `key` when `file` cannot be read. */
function readable(file: string, key: string): void {
  try {
    accessSync(file, constants.R_OK);
  } catch (err) {
    throw new ConfigError(key, `cannot read ${file}: ${(err as Error).message}`);
  }
}

/**
 * @throws ConfigError naming `${path}.cert` when the certificate is not one, or `${path}.key`
 * when the key is not a key or not the certificate's (as the TLS listener would at start).
 */
function tlsPair(certFile: string, keyFile: string, path: string): void {
  const cert = readFileSync(certFile);
  try {
    new X509Certificate(cert);
  } catch (err) {
    throw new ConfigError(`${path}.cert`, `${certFile} is not a PEM certificate: ${(err as Error).message}`);
  }
  try {
    createSecureContext({ cert, key: readFileSync(keyFile) });
  } catch (err) {
    throw new ConfigError(`${path}.key`, `${keyFile} is not the private key of ${certFile}: ${(err as Error).message}`);
  }
}

/** @throws ConfigError naming `key` when `file` cannot be read or is not a list of CA certificates. */
function caFile(file: string, key: string): void {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(key, `cannot read ${file}: ${(err as Error).message}`);
  }
  const problem = certificatesProblem(pem);
  if (problem !== undefined) throw new ConfigError(key, `${file}: ${problem}`);
}

/**
 * Validates what `validateConfig` keeps as given and `startSmsc` checks at start: the
 * connectors, network and routes sections (with the same parsers and cross-references), the
 * command_status names, the allowedIps ranges and that TLS files are readable.
 * @throws ConfigError naming the key
 */
export function checkSections(config: Config): SectionsSummary {
  for (const k of ['unknownSystemIdStatus', 'wrongPasswordStatus'] as const) {
    const name = config.smpp[k];
    if (commandStatusByName(name) === undefined) throw new ConfigError(`smpp.${k}`, `unknown command_status name '${name}'`);
  }
  config.smpp.listeners.forEach((l, i) => {
    for (const f of ['cert', 'key'] as const) {
      const file = l.tls?.[f];
      if (file !== undefined) readable(file, `smpp.listeners[${i}].tls.${f}`);
    }
    if (l.tls !== undefined) tlsPair(l.tls.cert, l.tls.key, `smpp.listeners[${i}].tls`);
  });
  const pgUrl = config.store.postgres?.url;
  if (pgUrl !== undefined && /^postgres(ql)?:\/\//i.test(pgUrl) && !URL.canParse(pgUrl)) {
    // Not echoed: it may hold a password.
    throw new ConfigError('store.postgres.url', 'is not a valid URL (postgres://user:password@host:port/database; a port is a number)');
  }
  config.accounts.forEach((a, i) => {
    const ca = a.outbind?.ca;
    if (ca !== undefined) {
      if (a.outbind?.tls !== true) throw new ConfigError(`accounts[${i}].outbind.ca`, 'is for outbind over TLS: set outbind.tls: true');
      caFile(ca, `accounts[${i}].outbind.ca`);
    }
    a.allowedIps?.forEach((range, j) => {
      try {
        parseCidr(range);
      } catch (err) {
        throw new ConfigError(`accounts[${i}].allowedIps[${j}]`, (err as Error).message);
      }
    });
  });

  const names = new Set<string>();
  const raw = config['connectors'];
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) {
    throw new ConfigError('connectors', 'must be a mapping of name → connector');
  }
  for (const [name, c] of Object.entries((raw ?? {}) as Record<string, unknown>)) {
    const type = (c as { type?: unknown } | null)?.type;
    const path = `connectors.${name}`;
    // Failover lists are stored comma-separated; names are config keys, so this costs nothing.
    if (!CONNECTOR_NAME.test(name)) throw new ConfigError(path, 'a connector name may use letters, digits and _ . : - only');
    // Delivery targets share one namespace: `esme:<account>` is the account's own binds, and
    // `network` the section of that name. Either would be taken over (or take over) in silence.
    if (name.startsWith('esme:')) throw new ConfigError(path, "names starting 'esme:' are the accounts' own binds: choose another name");
    if (name === 'network' && config['network'] !== undefined) {
      throw new ConfigError(path, "the name of the 'network' section's simulated network: choose another name, or make this the only network");
    }
    if (type === 'http') {
      const parsed = asConfigError(() => parseHttp(c, path));
      checkAttemptFits(config, `${path}.timeoutMs`, parsed.timeoutMs ?? HTTP_TIMEOUT_MS);
    } else if (type === 'smpp') {
      const parsed = asConfigError(() => parseSmpp(c, path, commandStatusByName));
      checkAttemptFits(config, `${path}.responseTimeoutMs`, parsed.responseTimeoutMs ?? SMPP_RESPONSE_TIMEOUT_MS);
      if (parsed.ca !== undefined) caFile(parsed.ca, `${path}.ca`);
    }
    else if (type === 'network') {
      const { type: _t, ...rest } = c as Record<string, unknown>;
      checkLatencyFits(config, path, asConfigError(() => parseNetwork(rest, path)));
    } else throw new ConfigError(`${path}.type`, "must be 'http', 'smpp' or 'network'");
    names.add(name);
  }
  if (config['network'] !== undefined) {
    checkLatencyFits(config, 'network', asConfigError(() => parseNetwork(config['network'], 'network')));
    names.add('network');
  }
  const routes = asConfigError(() =>
    parseRoutes(config['routes'], {
      statusByName: commandStatusByName,
      connectors: names,
      accounts: config.accounts.map((a) => a.systemId),
    }),
  );
  return { connectors: [...names], routes };
}

