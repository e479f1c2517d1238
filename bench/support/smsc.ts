/**
 * Shared helpers of the end-to-end benchmarks: start the SMSC CLI as its own process with
 * extra top-level config sections, and read a child's CPU time and peak RSS from /proc.
 */
import { readFileSync } from 'node:fs';
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

/** Reads /proc/<pid>/stat (utime, stime) and /proc/<pid>/status (VmHWM). */
export function sampleProc(pid: number | undefined): ProcSample | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state is field 3, utime 14, stime 15 (1-based over the whole line).
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+)\s+kB/.exec(status);
    return { cpuMs: ((utime + stime) * 1000) / CLK_TCK, peakRssKb: hwm === null ? Number.NaN : Number(hwm[1]) };
  } catch {
    return undefined;
  }
}
