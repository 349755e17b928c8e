import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SERVICES } from '@openpenpal/e2e';

export interface RunOptions {
  quick: boolean;
  stackDir: string;
  out: string;
  services: string[];
  instances: number;
  /** Delayed messages per second, each due `delayMinMs`-`delayMaxMs` after it was made. */
  rate: number;
  delayMinMs: number;
  delayMaxMs: number;
  /** Cron tasks firing every second. */
  tasks: number;
  warmupSeconds: number;
  /** How long a killed part stays down before it is started again. */
  downSeconds: number;
  /** From one kill to the next (and from the last kill to the end of the load). */
  phaseSeconds: number;
  drainSeconds: number;
  thresholdMs: number;
  basePort: number;
  /** Inbound events per second whose effects are checked (src/effects.ts); 0: none. */
  inboundRate: number;
}

/** The services the inbound load's effects go through: with an inbound rate, they must all run. */
const EFFECT_SERVICES = [
  'api',
  'recorder',
  'notifier',
  'handler-future-letters',
  'handler-ai-replies',
  'handler-courier-timeouts',
  'handler-letter-cleanup',
] as const;

export const USAGE = `usage: pnpm fault:cluster [--quick] [options]
  --quick               ticker and delay-queue only, short phases (about 4 minutes)
  --stack-dir DIR       the cluster profile's folder (default .stack/cluster; start it first:
                        STACK_PROFILE=cluster pnpm stack:up)
  --out FILE            report (default docs/benchmarks/fault-cluster.json; --quick: .cache/cluster-proof/fault-cluster-quick.json)
  --services a,b        services to run (default: all; --quick: ticker,delay-queue)
  --instances N         instances of each service (default 2)
  --rate N              delayed messages per second (default 50; --quick 20)
  --tasks N             cron tasks firing every second (default 5; --quick 3)
  --inbound-rate N      inbound events per second (future letters, AI replies, courier checks) whose
                        effects are checked, with 2 letter_cleanup tasks every second and one every 3 s
                        (default 10; --quick 0: none)
  --phase-seconds N     from one kill to the next (default 60; --quick 30)
  --down-seconds N      how long a killed part stays down (default 15; --quick 8)
  --drain-seconds N     longest wait for the last deliveries (default 90; --quick 60)
  --threshold-ms N      lateness that counts as recovered (default 1000)
  --base-port N         first ops port of the run's processes (default 23000, below the ephemeral range)`;

export function parseOptions(argv: readonly string[], root: string): RunOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      'stack-dir': { type: 'string' },
      out: { type: 'string' },
      services: { type: 'string' },
      instances: { type: 'string' },
      rate: { type: 'string' },
      tasks: { type: 'string' },
      'inbound-rate': { type: 'string' },
      'phase-seconds': { type: 'string' },
      'down-seconds': { type: 'string' },
      'drain-seconds': { type: 'string' },
      'threshold-ms': { type: 'string' },
      'base-port': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) throw new Error(USAGE);
  const quick = values.quick;
  const int = (name: string, value: string | undefined, fallback: number, min = 1): number => {
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min) throw new Error(`--${name} must be an integer ≥ ${min}`);
    return parsed;
  };
  const services =
    values.services?.split(',').filter(Boolean) ??
    (quick ? ['ticker', 'delay-queue'] : SERVICES.map((spec) => spec.name));
  for (const must of ['ticker', 'delay-queue']) {
    if (!services.includes(must))
      throw new Error(`--services must include ${must} (the load goes through it)`);
  }
  const inboundRate = int('inbound-rate', values['inbound-rate'], quick ? 0 : 10, 0);
  const missing = EFFECT_SERVICES.filter((name) => !services.includes(name));
  if (inboundRate > 0 && missing.length > 0)
    throw new Error(
      `the inbound load's effects need ${missing.join(', ')} in --services (or --inbound-rate 0)`,
    );
  return {
    quick,
    stackDir: values['stack-dir'] ?? join(root, '.stack', 'cluster'),
    out:
      values.out ??
      (quick
        ? join(root, '.cache', 'cluster-proof', 'fault-cluster-quick.json')
        : join(root, 'docs', 'benchmarks', 'fault-cluster.json')),
    services,
    instances: int('instances', values.instances, 2),
    rate: int('rate', values.rate, quick ? 20 : 50),
    delayMinMs: 1_000,
    delayMaxMs: 5_000,
    tasks: int('tasks', values.tasks, quick ? 3 : 5),
    warmupSeconds: quick ? 15 : 30,
    downSeconds: int('down-seconds', values['down-seconds'], quick ? 8 : 15),
    phaseSeconds: int('phase-seconds', values['phase-seconds'], quick ? 30 : 60),
    drainSeconds: int('drain-seconds', values['drain-seconds'], quick ? 60 : 90),
    thresholdMs: int('threshold-ms', values['threshold-ms'], 1_000),
    basePort: int('base-port', values['base-port'], 23_000, 1_024),
    inboundRate,
  };
}
