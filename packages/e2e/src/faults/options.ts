import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { positiveOption } from '@openpenpal/test-kit';

/** A process of the system (its name in `startSystem`) or a part of the stack. */
const FAULTS = [
  'ticker',
  'delay-queue',
  'handler-future-letters',
  'notifier',
  'recorder',
  'api',
  'redis',
  'kafka',
  'postgres',
] as const;
export type Fault = (typeof FAULTS)[number];
export const STACK_FAULTS: readonly Fault[] = ['redis', 'kafka', 'postgres'];

export interface FaultRunOptions {
  full: boolean;
  rate: number;
  cronTasks: number;
  warmupSeconds: number;
  phaseSeconds: number;
  drainSeconds: number;
  delayMinMs: number;
  delayMaxMs: number;
  onTimeMs: number;
  faults: Fault[];
  out: string;
}

export const USAGE = `node packages/e2e/src/bin/faults.ts [--full] [options]   (pnpm e2e:faults, pnpm e2e:full)

  --full            the full run: 15 events/s, warm-up 30 s, 30 s after each fault (about 10 minutes), writes docs/benchmarks/e2e-faults.json
  --rate N          inbound events per second, all kinds together (10; full 15)
  --cron N          cron tasks every second, plus one every 3 s (2)
  --warmup S        seconds of load before the first fault (10; full 30)
  --phase S         seconds from the process or server being back to the next fault (10; full 30)
  --drain S         longest wait for the last effects after the load stops (180; full 240)
  --delay-min MS    shortest delay of an item (3000)
  --delay-max MS    longest delay of an item (6000)
  --on-time MS      an item handled at most this late counts as on time for the recovery (1000)
  --faults LIST     which faults, in order (${FAULTS.join(',')})
  --out FILE        the JSON (full: docs/benchmarks/e2e-faults.json; else <tmp>/e2e-faults-short.json)`;

export function parseOptions(argv: readonly string[], root: string): FaultRunOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      full: { type: 'boolean', default: false },
      rate: { type: 'string' },
      cron: { type: 'string' },
      warmup: { type: 'string' },
      phase: { type: 'string' },
      drain: { type: 'string' },
      'delay-min': { type: 'string' },
      'delay-max': { type: 'string' },
      'on-time': { type: 'string' },
      faults: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) throw new Error(USAGE);
  const full = values.full;
  const faults = (values.faults ?? FAULTS.join(','))
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  for (const fault of faults) {
    if (!FAULTS.includes(fault as Fault)) throw new Error(`unknown fault ${fault} (${FAULTS.join(', ')})`);
  }
  const delayMinMs = positiveOption('delay-min', values['delay-min'], 3_000);
  const delayMaxMs = positiveOption('delay-max', values['delay-max'], 6_000);
  if (delayMaxMs < delayMinMs) throw new Error('--delay-max must not be below --delay-min');
  return {
    full,
    rate: positiveOption('rate', values.rate, full ? 15 : 10),
    cronTasks: positiveOption('cron', values.cron, 2),
    warmupSeconds: positiveOption('warmup', values.warmup, full ? 30 : 10),
    phaseSeconds: positiveOption('phase', values.phase, full ? 30 : 10),
    drainSeconds: positiveOption('drain', values.drain, full ? 240 : 180),
    delayMinMs,
    delayMaxMs,
    onTimeMs: positiveOption('on-time', values['on-time'], 1_000),
    faults: faults as Fault[],
    out:
      values.out ??
      (full ? join(root, 'docs', 'benchmarks', 'e2e-faults.json') : join(tmpdir(), 'e2e-faults-short.json')),
  };
}
