import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

/** CPU seconds (user + system, all threads) and resident memory of a process, from /proc (Linux). */
export function processUsage(pid: number): { cpuSeconds: number; peakRssMb: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { cpuSeconds: ticks / 100, peakRssMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024 };
}

/** The machine a result was measured on, for the result files of bench:day and bench:floor. */
export function machineFacts(): { cpu: string | undefined; logicalCpus: number; memoryGiB: number } {
  return { cpu: cpus()[0]?.model, logicalCpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) };
}
