import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { promisify } from 'node:util';

/**
 * What benchmark and fault runs record beside their figures: the machine, how busy it was, the
 * source they measured, and nearest-rank percentiles. Numbers from a shared machine need their context.
 */

const run = promisify(execFile);

export function machine() {
  const list = cpus();
  return {
    cpuModel: list[0]?.model ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  };
}

export const loadAverage = (): number[] => loadavg().map((v) => Math.round(v * 100) / 100);

/** Busy and total jiffies of all CPUs since boot (/proc/stat), to compare two readings. */
function cpuTimes(): { busy: number; total: number; steal: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
    const busy = user + nice + system + irq + softirq + steal;
    return { busy, total: busy + idle + iowait, steal };
  } catch {
    return undefined;
  }
}

/**
 * Samples the load average while the run goes on, and the share of all CPU time that was busy
 * (anyone's processes, not only the run's) between start and stop.
 */
export function watchLoad(intervalMs = 5_000) {
  const samples: number[] = [];
  const first = cpuTimes();
  const timer = setInterval(() => samples.push(loadAverage()[0] ?? 0), intervalMs);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      const last = cpuTimes();
      const span = first && last ? last.total - first.total : 0;
      return {
        oneMinuteLoadMin: samples.length ? Math.min(...samples) : null,
        oneMinuteLoadMax: samples.length ? Math.max(...samples) : null,
        oneMinuteLoadMean: samples.length
          ? Math.round((samples.reduce((a, b) => a + b, 0) / samples.length) * 100) / 100
          : null,
        cpuBusyPercent:
          first && last && span > 0 ? Math.round(((last.busy - first.busy) / span) * 1000) / 10 : null,
        cpuStealPercent:
          first && last && span > 0 ? Math.round(((last.steal - first.steal) / span) * 1000) / 10 : null,
      };
    },
  };
}

/** What was measured: the commit, and which of `paths` differed from it. */
export async function sourceTree(root: string, paths: readonly string[]) {
  const git = async (...args: string[]) =>
    (await run('git', args, { cwd: root }).catch(() => ({ stdout: '' }))).stdout.trim();
  const commit = await git('rev-parse', 'HEAD');
  const dirty = (await git('status', '--porcelain', '--', ...paths))
    .split('\n')
    .filter(Boolean)
    .map((line) => line.slice(3));
  return { commit, uncommittedChangesInUse: dirty };
}

export async function javaVersion(): Promise<string> {
  const { stderr } = await run('java', ['-version']).catch(() => ({ stderr: 'unknown' }));
  return stderr.split('\n')[0]?.trim() ?? 'unknown';
}

export interface PercentileSummary {
  count: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  p999: number | null;
  max: number | null;
}

/** Nearest-rank percentiles (rounded) of the finite `values`; nulls when there are none. */
export function summarise(values: readonly number[]): PercentileSummary {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const at = (p: number): number | null => {
    if (sorted.length === 0) return null;
    const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
    return Math.round(sorted[rank] ?? 0);
  };
  return { count: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: at(1) };
}
