// What a consumer sees, next to what the producer was told. The fire lag is the acknowledgement
// (or, with transactional sends, the commit's answer) minus the nominal time; a consumer that reads
// committed sees a transactional trigger only once the coordinator has written the commit markers.
// A worker process (bench/visibility-worker.ts) reads one trigger topic as the handlers do
// (kafkajs's default: read committed) and records, per trigger, when it arrived minus its nominal
// time. It also writes a small probe message to that topic every few milliseconds, round-robin
// over its partitions, as another producer would (the delay queue publishes exact-time triggers
// to the same topics), and records its send-to-arrival delay: while a transaction is open on a
// partition, read-committed consumers stop at it, so a probe written then arrives after the commit.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const worker = fileURLToPath(new URL('./visibility-worker.ts', import.meta.url));

export interface Seen {
  triggerLag: number[];
  probeDelay: number[];
}

export interface VisibilityWatch {
  /** Starts (or restarts) recording; what arrived before is dropped. */
  record(): Promise<void>;
  /** What was recorded since `record()`, in ms. */
  take(): Promise<Seen>;
  close(): Promise<void>;
}

export async function watchVisibility(options: {
  brokers: string[];
  topic: string;
  partitions: number;
  probeEveryMs: number;
  groupId: string;
}): Promise<VisibilityWatch> {
  const child = fork(worker, [JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = () =>
    new Promise<unknown>((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`visibility worker exited with ${String(code)}`)));
    });
  await next();
  return {
    record: async () => {
      const answer = next();
      child.send('record');
      await answer;
    },
    take: async () => {
      const answer = next();
      child.send('take');
      return (await answer) as Seen;
    },
    close: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send('close');
      await exited;
    },
  };
}
