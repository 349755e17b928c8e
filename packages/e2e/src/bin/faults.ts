// `pnpm e2e:faults` (short, CI) and `pnpm e2e:full`: the whole system under load and faults, then
// the checker (packages/e2e/README.md, docs/reliability.md). It stops and restarts Kafka, Redis and
// PostgreSQL of THIS checkout's stack: never run it where others use that stack.
// Exit code 0: every promise kept; 1: something lost or done twice; 2: the run itself failed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { findWorkspaceRoot, sourceTree } from '@openpenpal/test-kit';
import { parseOptions, USAGE, type FaultRunOptions } from '../faults/options.ts';
import { buildReport, printSummary } from '../faults/report.ts';
import { runFaultSuite } from '../faults/run.ts';

const began = Date.now();
const say = (line: string): void => {
  process.stdout.write(`[faults +${((Date.now() - began) / 1000).toFixed(1)}s] ${line}\n`);
};
const root = findWorkspaceRoot();
const argv = process.argv.slice(2);
let options: FaultRunOptions;
try {
  options = parseOptions(argv, root);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  if (!(error instanceof Error && error.message === USAGE)) process.stderr.write(`\n${USAGE}\n`);
  process.exit(2);
}
let code = 2;
try {
  const source = await sourceTree(root, ['services', 'packages']);
  const outcome = await runFaultSuite(options, say);
  const report = await buildReport(source, options, argv, outcome);
  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);
  printSummary(report, (line) => process.stdout.write(`${line}\n`));
  say(`results written to ${options.out}`);
  code = report.verdict.promisesKept ? 0 : 1;
} catch (error) {
  process.stderr.write(
    `fault run failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
}
process.exit(code);
