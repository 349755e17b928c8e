/* global process, console -- a Node.js script; the workspace lints .js files without Node globals */
// Validates prometheus-operator resources (ServiceMonitor, PrometheusRule, ...) rendered by the
// Helm chart against the models of @kubernetes-models/prometheus-operator, generated from the
// operator's own API types. Reads a JSON array of manifests on stdin; exits 1 naming each that is
// invalid. The models are installed into .tools/deploy-node by deploy/ci/check-deploy.sh, whose
// path is the first argument.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const modelsDir = process.argv[2];
if (!modelsDir) {
  console.error('usage: node validate-monitoring-resources.js <dir with node_modules> < manifests.json');
  process.exit(2);
}
const versions = new Map();
async function models(apiVersion) {
  const [group, version] = apiVersion.split('/');
  if (group !== 'monitoring.coreos.com' || !version) return undefined;
  if (!versions.has(version)) {
    const file = join(
      modelsDir,
      'node_modules/@kubernetes-models/prometheus-operator/monitoring.coreos.com',
      version,
      'index.js',
    );
    versions.set(version, await import(pathToFileURL(file).href));
  }
  return versions.get(version);
}

const manifests = JSON.parse(readFileSync(0, 'utf8'));
let failed = 0;
for (const manifest of manifests) {
  const name = `${manifest.kind}/${manifest.metadata?.name ?? '?'}`;
  const Model = (await models(manifest.apiVersion))?.[manifest.kind];
  if (!Model) {
    console.error(`${name}: no model for ${manifest.apiVersion} ${manifest.kind}`);
    failed += 1;
    continue;
  }
  try {
    new Model(manifest).validate();
    console.log(`${name}: valid ${manifest.apiVersion}`);
  } catch (error) {
    console.error(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    failed += 1;
  }
}
process.exit(failed ? 1 : 0);
