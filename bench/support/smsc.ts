/**
 * Shared helpers of the end-to-end benchmarks: start the SMSC CLI as its own process with
 * extra top-level config sections, and read a child's CPU time and peak RSS from /proc.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { type SmscProcess, type SmscProcessOptions, startSmscProcess } from '../../test/support/smsc-process.js';

/**
 * Like startSmscProcess, with extra top-level config keys (`routes`, `network`, ...) merged
 * over `o.sections`: writes the config, starts the CLI, resolves once it listens.
 */
export function startSmscProcessWith(o: SmscProcessOptions, extra: Record<string, unknown>): Promise<SmscProcess> {
  return startSmscProcess({ ...o, sections: { ...o.sections, ...extra } });
}

/** CPU time and peak RSS of a process, from /proc (Linux); undefined elsewhere or once it exited. */
export interface ProcSample {
  /** utime + stime, ms. */
  cpuMs: number;
  /** VmHWM (peak resident set), kB. */
  peakRssKb: number;
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ); 100 on every Linux we run on. */
const CLK_TCK = 100;

/** utime + stime (ms) of a /proc `stat` file: of a process, or of a thread (`/proc/<pid>/task/<tid>/stat`). */
function statCpuMs(path: string): number {
  const stat = readFileSync(path, 'utf8');
  // Fields after "(comm)": state is field 3, utime 14, stime 15 (1-based over the whole line).
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / CLK_TCK;
}

/** Reads /proc/<pid>/stat (utime, stime) and /proc/<pid>/status (VmHWM). */
export function sampleProc(pid: number | undefined): ProcSample | undefined {
  if (pid === undefined) return undefined;
  try {
    const cpuMs = statCpuMs(`/proc/${pid}/stat`);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+)\s+kB/.exec(status);
    return { cpuMs, peakRssKb: hwm === null ? Number.NaN : Number(hwm[1]) };
  } catch {
    return undefined;
  }
}

/** CPU ms of each thread of this process by thread id (Linux /proc; empty elsewhere). */
export function threadCpuMs(): Map<number, number> {
  const out = new Map<number, number>();
  try {
    for (const tid of readdirSync('/proc/self/task')) out.set(Number(tid), statCpuMs(`/proc/self/task/${tid}/stat`));
  } catch {
    // not Linux
  }
  return out;
}

/** The machine's CPU time so far, from the first line of /proc/stat: all of it and the part stolen. */
export interface HostCpuSample {
  /** Every jiffy of every CPU (user, nice, system, idle, iowait, irq, softirq, steal). */
  total: number;
  /** Time the hypervisor ran something else while a CPU of this VM wanted to run. */
  steal: number;
}

/** Reads /proc/stat's aggregate `cpu` line; undefined off Linux. */
export function sampleHostCpu(): HostCpuSample | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
    if (f[0] === undefined || f.some((n) => !Number.isFinite(n))) return undefined;
    return { total: f.reduce((a, b) => a + b, 0), steal: f[7] ?? 0 };
  } catch {
    return undefined;
  }
}

/**
 * The share of the machine's CPU time the hypervisor took between two samples, %: on a shared
 * VM the same code runs slower (and its latency tail grows) while this is high, so figures are
 * read with it. null when unknown.
 */
export function stealPct(before: HostCpuSample | undefined, after: HostCpuSample | undefined): number | null {
  if (before === undefined || after === undefined || after.total <= before.total) return null;
  return (100 * (after.steal - before.steal)) / (after.total - before.total);
}

/** utime+stime+cutime+cstime (ms) and comm of one process, or undefined once it is gone. */
function procTimes(pid: number): { ppid: number; comm: string; cpuMs: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14]);
    return { ppid: Number(rest[1]), comm, cpuMs: (ticks * 1000) / CLK_TCK };
  } catch {
    return undefined;
  }
}

/**
 * CPU ms (own and reaped children's) summed over the descendants of `root` whose command name
 * starts with `comm` (e.g. the embedded PostgreSQL server and its backends); NaN off Linux.
 */
export function descendantsCpuMs(root: number, comm: string): number {
  let pids: number[];
  try {
    pids = readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
  } catch {
    return Number.NaN;
  }
  const info = new Map<number, { ppid: number; comm: string; cpuMs: number }>();
  for (const pid of pids) {
    const t = procTimes(pid);
    if (t !== undefined) info.set(pid, t);
  }
  const under = (pid: number): boolean => {
    for (let p = info.get(pid)?.ppid, hops = 0; p !== undefined && p > 1 && hops < 64; p = info.get(p)?.ppid, hops++) {
      if (p === root) return true;
    }
    return false;
  };
  let sum = 0;
  for (const [pid, t] of info) if (t.comm.startsWith(comm) && under(pid)) sum += t.cpuMs;
  return sum;
}
