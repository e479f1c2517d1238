/**
 * Route table benchmark: longest-prefix lookups per second in a PrefixTable of 100,000
 * prefixes, and MT routing per second through an MtRouter of 100,000 prefix rules plus a few
 * regex/account rules (first-match-wins semantics on top of the trie).
 * Usage: npm run build && node dist/bench/route-table.js [--prefixes 100000] [--lookups 2000000]
 */
import { type MtRouteRequest, MtRouter, type MtRule } from '../src/routing/mt-router.js';
import { PrefixTable } from '../src/routing/prefix-table.js';
import { seededRandom } from '../src/util/random.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}
const prefixCount = Number(arg('prefixes', '100000'));
const lookups = Number(arg('lookups', '2000000'));

const rand = seededRandom(42);
function digits(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(48 + Math.floor(rand() * 10));
  return s;
}

// Prefixes of 3..9 digits, like real number-range tables (country + operator + block).
const prefixes = new Set<string>();
while (prefixes.size < prefixCount) prefixes.add(digits(3 + Math.floor(rand() * 7)));
const prefixList = [...prefixes];

// Destinations: 12-digit numbers, half under a stored prefix, half random.
const KEYS = 65_536;
const keys: string[] = [];
for (let i = 0; i < KEYS; i++) {
  if (i % 2 === 0) {
    const p = prefixList[Math.floor(rand() * prefixList.length)]!;
    keys.push(p + digits(12 - p.length));
  } else keys.push(digits(12));
}

function run(label: string, fn: (key: string) => unknown): void {
  let sink = 0;
  for (let i = 0; i < 200_000; i++) if (fn(keys[i & (KEYS - 1)]!) !== undefined) sink++; // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < lookups; i++) if (fn(keys[i & (KEYS - 1)]!) !== undefined) sink++;
  const ns = Number(process.hrtime.bigint() - start);
  const perSec = lookups / (ns / 1e9);
  console.log(`${label.padEnd(58)} ${Math.round(perSec).toLocaleString('en-US').padStart(12)} lookups/s  ${(ns / lookups).toFixed(0).padStart(5)} ns/lookup  (${sink} hits)`);
}

let t0 = process.hrtime.bigint();
const table = new PrefixTable<number>();
prefixList.forEach((p, i) => {
  table.set(p, i);
});
const buildTableMs = Number(process.hrtime.bigint() - t0) / 1e6;

t0 = process.hrtime.bigint();
const prefixRules: MtRule[] = prefixList.map((p, i) => ({ prefix: p, connector: `c${i % 50}` }));
prefixRules.push({ connector: 'default' });
const plainRouter = new MtRouter(prefixRules);
const buildPlainMs = Number(process.hrtime.bigint() - t0) / 1e6;

t0 = process.hrtime.bigint();
// Mixed: rules before the prefix block that every lookup must consider (first match wins),
// a seventh of the prefix rules restricted to another account, a regex and a default at the end.
const rules: MtRule[] = [
  { account: 'vip', source: 'BANK*', connector: 'priority' },
  { regex: '^1[0-9]{3}$', account: 'alice', connector: 'hook' },
  { serviceType: 'WAP', dataCoding: 4, connector: 'wap' },
];
prefixList.forEach((p, i) => {
  rules.push({ prefix: p, connector: `c${i % 50}`, ...(i % 7 === 0 ? { account: 'bob' } : {}) });
});
rules.push({ regex: '^9', connector: 'late-regex' });
rules.push({ connector: 'default' });
const router = new MtRouter(rules);
const buildRouterMs = Number(process.hrtime.bigint() - t0) / 1e6;

console.log(`node ${process.version}, ${prefixCount.toLocaleString('en-US')} prefixes, ${lookups.toLocaleString('en-US')} lookups per run`);
console.log(
  `build: PrefixTable ${buildTableMs.toFixed(0)} ms, MtRouter prefix-only ${buildPlainMs.toFixed(0)} ms, MtRouter mixed ${buildRouterMs.toFixed(0)} ms`,
);
run(`PrefixTable.lookup (longest prefix, ${prefixCount} prefixes)`, (k) => table.lookup(k));
const req: MtRouteRequest = { account: 'alice', destination: '', source: '1000', serviceType: '', dataCoding: 0 };
run(`MtRouter.route (${prefixRules.length} prefix rules + default)`, (k) => {
  req.destination = k;
  return plainRouter.route(req);
});
run(`MtRouter.route (${rules.length} mixed rules, regex/account first)`, (k) => {
  req.destination = k;
  return router.route(req);
});
