// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per package, so a
// benchmark that misses a target can say what limits it.
//   node services/delay-queue/bench/profile-summary.ts <file.cpuprofile> [--top 25]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' } },
});
const file = positionals[0];
if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [--top N]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));

// Self time per node from the sample timeline (more exact than hitCount × interval).
const selfUs = new Map<number, number>();
profile.samples.forEach((id, index) => {
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
});
const totalUs = [...selfUs.values()].reduce((sum, us) => sum + us, 0);

function packageOf(url: string, name: string): string {
  if (name === '(idle)' || name === '(program)' || name === '(garbage collector)') return name;
  if (url === '') return '(native)';
  const pnpm = /node_modules\/\.pnpm\/([^/]+)\//.exec(url);
  if (pnpm?.[1]) return pnpm[1].replace(/@[\d.]+.*$/, '');
  if (url.startsWith('node:')) return 'node:internal';
  const local = /\/(packages|services)\/([^/]+)\//.exec(url);
  return local ? `${local[1]}/${local[2]}` : url;
}

const perFunction = new Map<string, number>();
const perPackage = new Map<string, number>();
for (const [id, us] of selfUs) {
  const node = byId.get(id);
  if (!node) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const short = url.replace(/^.*node_modules\/\.pnpm\//, '').replace(/^file:\/\/\/work\/main\//, '');
  const key = `${functionName || '(anonymous)'} ${short}:${lineNumber + 1}`;
  perFunction.set(key, (perFunction.get(key) ?? 0) + us);
  const pkg = packageOf(url, functionName);
  perPackage.set(pkg, (perPackage.get(pkg) ?? 0) + us);
}

const pct = (us: number): string => `${((100 * us) / totalUs).toFixed(1)}%`;
const top = Number(values.top);
console.log(`profile ${file}: ${(totalUs / 1e6).toFixed(1)} s sampled\n`);
console.log('self time by package');
for (const [name, us] of [...perPackage].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`  ${pct(us).padStart(6)}  ${name}`);
}
console.log('\nself time by function');
for (const [name, us] of [...perFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`  ${pct(us).padStart(6)}  ${name}`);
}
