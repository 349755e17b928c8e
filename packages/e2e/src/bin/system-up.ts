// `node packages/e2e/src/bin/system-up.ts`: the e2e system (stack, topics, tables, demo data and
// every service as its own process) until Ctrl-C, for running a scenario by hand or debugging one.
import { startSystem } from '../system.ts';

const system = await startSystem();
process.stderr.write(
  `[e2e] up: API ${system.info.apiUrl}; processes ${system.info.services.map((s) => `${s.name} ${s.url}`).join(', ')}\n` +
    `[e2e] logs in ${system.info.logDir}; Ctrl-C stops every process\n`,
);
const stop = () => {
  void system.stop().then((results) => {
    process.stderr.write(
      `[e2e] stopped: ${results.map((r) => `${r.name} ${r.code ?? r.signal ?? '?'}`).join(', ')}\n`,
    );
    process.exit(0);
  });
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
