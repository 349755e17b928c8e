import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { positiveOption } from '@openpenpal/test-kit';
import type { FaultKind } from './analysis.ts';

export interface FaultOptions {
  quick: boolean;
  rate: number;
  warmupSeconds: number;
  phaseSeconds: number;
  drainSeconds: number;
  delayMinMs: number;
  delayMaxMs: number;
  faults: FaultKind[];
  out: string;
  keep: boolean;
  /** Extra settings for the delay-queue process (`--service-env NAME=VALUE`). */
  serviceEnv: Record<string, string>;
}

export const USAGE = `pnpm fault:delay-queue [options]

  --quick              about 2-2.5 minutes: warm-up 10 s, 25 s per fault, writes to the temp folder
  --rate N             schedule requests per second (500)
  --warmup S           seconds of steady load before the first fault (30; quick 10)
  --phase S            seconds from one kill to the next, and after the last one (75; quick 25)
  --drain S            at most this long after the load stops for the last deliveries (120; quick 60)
  --delay-min MS       shortest delay of a request (1000)
  --delay-max MS       longest delay of a request (5000)
  --faults LIST        which kills, in order (service,redis,kafka)
  --out FILE           results (docs/benchmarks/fault-delay-queue.json; quick: <tmp>/fault-delay-queue-quick.json)
  --keep               keep the run folder (logs, data) and print where it is
  --service-env N=V    a setting for the delay-queue process (repeatable), e.g. DELAY_QUEUE_VISIBILITY_MS=10000`;

const FAULTS: readonly FaultKind[] = ['service', 'redis', 'kafka'];

export function parseOptions(argv: readonly string[], root: string): FaultOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      rate: { type: 'string' },
      warmup: { type: 'string' },
      phase: { type: 'string' },
      drain: { type: 'string' },
      'delay-min': { type: 'string' },
      'delay-max': { type: 'string' },
      faults: { type: 'string' },
      out: { type: 'string' },
      keep: { type: 'boolean', default: false },
      'service-env': { type: 'string', multiple: true },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) throw new Error(USAGE);
  const quick = values.quick;
  const faults = (values.faults ?? FAULTS.join(',')).split(',').map((f) => f.trim());
  for (const fault of faults) {
    if (!FAULTS.includes(fault as FaultKind))
      throw new Error(`unknown fault ${fault} (${FAULTS.join(', ')})`);
  }
  const serviceEnv: Record<string, string> = {};
  for (const pair of values['service-env'] ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`--service-env takes NAME=VALUE, got ${pair}`);
    serviceEnv[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const delayMinMs = positiveOption('delay-min', values['delay-min'], 1_000);
  const delayMaxMs = positiveOption('delay-max', values['delay-max'], 5_000);
  if (delayMaxMs < delayMinMs) throw new Error('--delay-max must not be below --delay-min');
  return {
    quick,
    rate: positiveOption('rate', values.rate, 500),
    warmupSeconds: positiveOption('warmup', values.warmup, quick ? 10 : 30),
    phaseSeconds: positiveOption('phase', values.phase, quick ? 25 : 75),
    drainSeconds: positiveOption('drain', values.drain, quick ? 60 : 120),
    delayMinMs,
    delayMaxMs,
    faults: faults as FaultKind[],
    out:
      values.out ??
      (quick
        ? join(tmpdir(), 'fault-delay-queue-quick.json')
        : join(root, 'docs', 'benchmarks', 'fault-delay-queue.json')),
    keep: values.keep,
    serviceEnv,
  };
}
