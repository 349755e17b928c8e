import { execFileSync, spawnSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import type { RunCheck } from './check.ts';
import type { phaseRecovery } from './recovery.ts';

export type Recovery = ReturnType<typeof phaseRecovery>;

export function machine(root: string) {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
    } catch {
      return null;
    }
  };
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    node: process.version,
    commit: git('rev-parse', '--short', 'HEAD'),
    dirty: (git('status', '--porcelain', '--', 'packages', 'services') ?? '') !== '',
  };
}

const ms = (value: number | null | undefined): string =>
  value === null || value === undefined ? '—' : `${value} ms`;

/** The figures on stdout: the verdict, the checker's counts, recovery per fault. */
export function printSummary(
  write: (line: string) => void,
  check: RunCheck,
  recoveries: readonly Recovery[],
  thresholdMs: number,
  /** The e2e checker's lines over the inbound load's effects (none in --quick). */
  effects: readonly string[] = [],
): void {
  const { delayed, triggers, tokens } = check;
  write('');
  write(
    `verdict: ${check.ok ? 'PASS' : 'FAIL'}${check.broken.length ? ` (${check.broken.join('; ')})` : ''}`,
  );
  write(
    `delayed: ${delayed.offered} offered, ${delayed.accepted} accepted by Kafka, ${delayed.delivered} delivered; ` +
      `lost ${delayed.lost}, delivered twice after dedup by message-id ${delayed.deliveredTwiceAfterDedup}, ` +
      `raw duplicates ${delayed.rawDuplicates} (of ${delayed.messagesWithRawDuplicates} messages); ` +
      `lateness written p50 ${ms(delayed.publishLatenessMs.p50)}, p99 ${ms(delayed.publishLatenessMs.p99)}, max ${ms(delayed.publishLatenessMs.max)}; ` +
      `received p50 ${ms(delayed.latenessMs.p50)}, p99 ${ms(delayed.latenessMs.p99)}`,
  );
  write(
    `cron: ${triggers.tasks} tasks, ${triggers.expectedFireTimes} nominal fire times, ${triggers.firedFireTimes} triggered; ` +
      `missed ${triggers.missed}, triggered twice after dedup ${triggers.triggeredTwiceAfterDedup}, ` +
      `raw duplicate triggers ${triggers.rawDuplicates}; lateness written p50 ${ms(triggers.publishLatenessMs.p50)}, ` +
      `p99 ${ms(triggers.publishLatenessMs.p99)}, max ${ms(triggers.publishLatenessMs.max)}; ` +
      `received p50 ${ms(triggers.latenessMs.p50)}, p99 ${ms(triggers.latenessMs.p99)}`,
  );
  write(
    `fencing tokens: ${tokens.acquisitions} acquisitions (${tokens.tokens.map((t) => `${t.token}@${t.process}`).join(', ')}), ` +
      `reused ${tokens.reused.length}, went backwards ${tokens.wentBackwards.length}, ` +
      `triggers from a deposed leader ${tokens.triggersFromDeposedLeader}, PostgreSQL row ${tokens.storedToken ?? '—'}`,
  );
  if (check.recorder) {
    write(
      `recorder: ${check.recorder.recorded} of ${check.recorder.executions} triggered executions in its read model (missing ${check.recorder.missing})`,
    );
  }
  if (effects.length > 0) {
    write("effects of the inbound load (the e2e fault run's checker):");
    for (const line of effects) write(line);
  }
  write(`recovery per fault, by record time (threshold ${thresholdMs} ms; both streams, the slower counts):`);
  for (const r of recoveries) {
    write(
      `  ${r.fault.padEnd(30)} ${r.target.padEnd(12).slice(0, 40)} restarted +${ms(r.restartedAfterKillMs)}; ` +
        `delivering again +${ms(r.resumedAfterKillMs)}, lateness back under threshold +${ms(r.lateUntilAfterKillMs)} ` +
        `(delayed: silence ${ms(r.delayed.longestSilenceMs)}, late until +${ms(r.delayed.lateUntilAfterKillMs)}, max ${ms(r.delayed.latenessInPhaseMs.max)}; ` +
        `cron: silence ${ms(r.triggers.longestSilenceMs)}, late until +${ms(r.triggers.lateUntilAfterKillMs)}, max ${ms(r.triggers.latenessInPhaseMs.max)})`,
    );
  }
}

/** Versions of the cluster's servers, as their own tools say. */
export function serverVersions(kafkaLibs: string): Record<string, string | null> {
  const first = (command: string, args: string[], pattern: RegExp): string | null => {
    // java -version answers on stderr.
    const result = spawnSync(command, args, { encoding: 'utf8' });
    return pattern.exec(`${result.stdout}${result.stderr}`)?.[1] ?? null;
  };
  return {
    kafka: /kafka-([\d.]+)/.exec(kafkaLibs)?.[1] ?? null,
    redis: first('redis-server', ['--version'], /v=([\d.]+)/),
    java: first('java', ['-version'], /version "([^"]+)"/),
  };
}
