import type { TestProject } from 'vitest/node';
import { startControlServer } from './control-server.ts';
import { startSystem, type SystemInfo } from './system.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    e2e: SystemInfo;
    /** The supervisor over HTTP (control-server.ts): kill, start, restart a process. */
    e2eControl: string;
  }
}

/**
 * Starts the whole system once for the scenarios and stops it after them. A process that exited
 * by itself during the run, one that is not ready at the end (stuck, or killed and never started
 * again), or one that does not stop cleanly on SIGTERM fails the run, even when every scenario
 * passed: the system must survive its own scenarios.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const system = await startSystem();
  const control = await startControlServer(system);
  project.provide('e2e', system.info);
  project.provide('e2eControl', control.url);
  return async () => {
    await control.close();
    const notReady = [...system.processes.values()]
      .filter((proc) => !proc.running || proc.readiness.at(-1)?.state !== 'ready')
      .map((proc) => {
        const last = proc.readiness.at(-1);
        return `${proc.name} (${proc.running ? (last?.state ?? 'never probed') : 'not running'}${
          last?.failing?.length ? `: ${last.failing.join(', ')}` : ''
        })`;
      });
    const crashed = [...system.processes.values()].flatMap((proc) =>
      proc.exits.filter((exit) => !exit.expected).map((exit) => ({ name: proc.name, ...exit })),
    );
    const stopped = await system.stop();
    const unclean = stopped.filter((result) => result.code !== 0 && result.name !== 'fake-chat');
    process.stderr.write(
      `[e2e] stopped: ${stopped.map((r) => `${r.name} ${r.code ?? r.signal ?? '?'}`).join(', ')}; logs in ${system.info.logDir}\n`,
    );
    if (crashed.length > 0) {
      throw new Error(
        `processes exited by themselves during the run:\n${crashed
          .map((c) => `${c.name} (code ${c.code}, signal ${c.signal}):\n${c.lastLines.join('\n')}`)
          .join('\n\n')}`,
      );
    }
    if (notReady.length > 0) {
      throw new Error(`processes not ready at the end of the run: ${notReady.join(', ')}`);
    }
    if (unclean.length > 0) {
      throw new Error(
        `processes did not stop cleanly on SIGTERM: ${unclean.map((u) => `${u.name} ${u.code ?? u.signal}`).join(', ')}`,
      );
    }
  };
}
