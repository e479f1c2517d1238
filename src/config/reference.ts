/**
 * docs/config-reference.md, rendered from the schema: every key with its type, default, unit,
 * range, environment variable and meaning. `npm run docs:config` writes it;
 * src/config/reference.test.ts fails when the committed file differs.
 */
import { envName, type Field, SCHEMA, type SectionField } from './schema.js';

interface Row {
  key: string;
  field: Field;
  /** Path for the environment variable; undefined = not settable from the environment. */
  env: string[] | undefined;
}

function typeOf(f: Field): string {
  switch (f.type) {
    case 'integer':
      return 'integer';
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'string': {
      if (f.oneOf !== undefined) return f.oneOf.map((s) => `\`${s}\``).join(' or ');
      const limits = [f.minLength === undefined ? '' : `≥ ${f.minLength}`, f.maxLength === undefined ? '' : `≤ ${f.maxLength}`].filter(Boolean);
      return limits.length === 0 ? 'string' : `string (${limits.join(', ')} chars)`;
    }
    case 'strings': {
      const max = f.maxLength === undefined ? '' : ` (≤ ${f.maxLength} chars each)`;
      return (f.oneOrMany ? 'string or list of strings' : 'list of strings') + max;
    }
    case 'any':
      return f.typeText;
    case 'section':
      return 'mapping';
    case 'list':
      return 'list of mappings';
    case 'named':
      return 'mapping of names';
  }
}

function defaultOf(f: Field): string {
  if (f.required) return '**required**';
  if (f.defaultText !== undefined) return f.defaultText;
  if ('default' in f && f.default !== undefined && f.type !== 'list') return `\`${JSON.stringify(f.default)}\``;
  if (f.type === 'section' && !f.optional) return 'all defaults';
  return 'absent';
}

function rangeOf(f: Field): string {
  if (f.type !== 'integer' && f.type !== 'number') return '';
  const parts: string[] = [];
  if (f.unit !== undefined) parts.push(f.unit);
  if (f.min !== undefined && f.max !== undefined) parts.push(`${f.min}–${f.max}`);
  else if (f.min !== undefined) parts.push(`≥ ${f.min}`);
  else if (f.max !== undefined) parts.push(`≤ ${f.max}`);
  return parts.join(', ');
}

function settable(f: Field): boolean {
  if (f.type === 'section' || f.type === 'list' || f.type === 'named') return false;
  return f.type !== 'any' || f.fromEnv !== undefined;
}

function rows(section: SectionField, prefix: string, env: string[] | undefined, out: Row[]): Row[] {
  for (const [k, f] of Object.entries(section.keys)) {
    const key = prefix === '' ? k : `${prefix}.${k}`;
    const envPath = env === undefined ? undefined : [...env, k];
    out.push({ key, field: f, env: settable(f) ? envPath : undefined });
    if (f.type === 'section') rows(f, key, envPath, out);
    else if (f.type === 'list') rows(f.item, `${key}[]`, envPath === undefined ? undefined : [...envPath, '<i>'], out);
  }
  return out;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function table(list: Row[]): string {
  const lines = ['| Key | Type | Default | Unit, range | Environment variable | Description |', '|---|---|---|---|---|---|'];
  for (const r of list) {
    const env = r.env === undefined ? '' : `\`${envName(r.env).replace('__<I>__', '__<i>__')}\``;
    lines.push(`| \`${r.key}\` | ${cell(typeOf(r.field))} | ${cell(defaultOf(r.field))} | ${cell(rangeOf(r.field))} | ${env} | ${cell(r.field.description)} |`);
  }
  return lines.join('\n');
}

function parsedByNote(f: Field): string {
  const by = f.type === 'section' || f.type === 'named' ? f.parsedBy : undefined;
  return by === undefined ? '' : `\n\nValidated by \`${by}\` when the SMSC starts (and by \`smsc config check\`).`;
}

/** The whole reference, as Markdown. */
export function renderReference(): string {
  const out: string[] = [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/schema.ts by `npm run docs:config`. Do not edit: edit the schema. -->',
    '',
    'The SMSC reads one YAML file: `smsc start --config FILE`, or the file named by the environment',
    'variable `SMSC_CONFIG`. [config/smsc.example.yaml](../config/smsc.example.yaml) is a commented example;',
    '`smsc config check FILE` validates a file (with the environment overrides) without starting.',
    'A bad key is reported by its path: `config key \'accounts[1].password\': must be at most 8 characters (SMPP password)`.',
    'Unknown keys are errors; at the top level, keys starting with `x-` are the file\'s own (YAML anchors to reuse).',
    '',
    '## Environment overrides',
    '',
    'Every key that holds a value can be set from the environment, overriding the file:',
    '`SMSC_` followed by the path of the key, its parts separated by a double underscore `__`, each',
    'part in upper case with `_` between words. Examples:',
    '',
    '```sh',
    'SMSC_SMPP__WINDOW_SIZE=50                # smpp.windowSize',
    'SMSC_ADMIN__TOKEN="$(cat /run/secrets/smsc-admin-token)"   # admin.token',
    'SMSC_STORE__POSTGRES__URL=postgres://smsc:secret@db:5432/smsc',
    'SMSC_ACCOUNTS__0__PASSWORD=s3cret       # an item of a list, by index (it must exist in the file)',
    '```',
    '',
    '- Case and single underscores within a part do not matter: `SMSC_SMPP__WINDOWSIZE` works too.',
    '- Values are typed by the key: integers and numbers are parsed (a bad one is an error naming the',
    '  variable and the key), booleans are `true` or `false`, lists of strings are comma-separated.',
    '- A section that the file lacks is created (`SMSC_ADMIN__TOKEN` alone turns the admin API on).',
    '- A variable with `__` that names no key is an error; one without `__` that names no key',
    '  (`SMSC_CONFIG`, `SMSC_ADMIN_TOKEN` of `smsc mo`) is not an override.',
    '- The keys of `connectors.<name>` cannot be set from the environment.',
    '',
    'Units: `ms` milliseconds, `s` seconds. Defaults apply when a key is absent (or empty).',
  ];
  const top: Row[] = [];
  for (const [k, f] of Object.entries(SCHEMA.keys)) {
    if (f.type !== 'section' && f.type !== 'list' && f.type !== 'named') {
      top.push({ key: k, field: f, env: settable(f) ? [k] : undefined });
      continue;
    }
    if (top.length > 0) {
      out.push('', '## Top level', '', table(top.splice(0)));
    }
    out.push('', `## \`${k}\``, '', f.description + parsedByNote(f));
    if (f.type === 'section') {
      out.push('', table([{ key: k, field: f, env: undefined }, ...rows(f, k, [k], [])]));
    } else if (f.type === 'list') {
      out.push('', table([{ key: k, field: f, env: undefined }, ...rows(f.item, `${k}[]`, [k, '<i>'], [])]));
    } else {
      for (const [name, variant] of Object.entries(f.variants)) {
        out.push('', `### \`${k}.${f.nameText}\` with \`type: ${name}\``, '', variant.description + parsedByNote(variant));
        out.push('', table(rows(variant, `${k}.${f.nameText}`, undefined, [])));
      }
    }
  }
  if (top.length > 0) out.push('', '## Top level', '', table(top));
  return `${out.join('\n')}\n`;
}
