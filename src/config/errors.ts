/** The error of a bad config, shared by the schema's checks and the loader. */

/** A config key that is missing, of the wrong type or out of range. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly code = 'SMSC_ERR_CONFIG';
  /** Dotted path of the offending key, e.g. `accounts[0].password`. */
  readonly key: string;
  /** The reason alone, without the key. */
  readonly reason: string;
  constructor(key: string, reason: string) {
    super(`config key '${key}': ${reason}`);
    this.key = key;
    this.reason = reason;
  }
}
