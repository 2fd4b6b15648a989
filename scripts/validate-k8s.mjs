#!/usr/bin/env node
// Validates deploy/kubernetes against the Kubernetes API schemas (the kubernetes-models package: the
// OpenAPI schemas of the API server, compiled), then checks what the schemas cannot see: selectors
// that match their pods, Services and probes that name real ports, Secrets and claims that exist,
// the master's probes on /healthz and workers whose --data has {shard}.
//   node scripts/validate-k8s.mjs [DIR]        exit 0: valid; 1: every problem printed as file#doc: path: what
import * as fs from 'node:fs';
import * as path from 'node:path';
import yaml from 'js-yaml';

const dir = path.resolve(
  process.argv[2] ?? path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'deploy', 'kubernetes'),
);
const problems = [];
const objects = [];

/** apiVersion "apps/v1" → module "kubernetes-models/apps/v1/Deployment"; core "v1" → "kubernetes-models/v1/Secret". */
async function modelOf(apiVersion, kind) {
  try {
    const mod = await import(`kubernetes-models/${apiVersion}/${kind}`);
    return mod[kind];
  } catch {
    return undefined;
  }
}

const files = fs
  .readdirSync(dir)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();
for (const file of files) {
  let docs;
  try {
    docs = yaml.loadAll(fs.readFileSync(path.join(dir, file), 'utf8'));
  } catch (e) {
    problems.push(`${file}: not YAML: ${e.message}`);
    continue;
  }
  if (file.startsWith('kustomization.')) {
    for (const r of docs[0]?.resources ?? [])
      if (!fs.existsSync(path.join(dir, r)))
        problems.push(`${file}: resources lists ${r}, which does not exist`);
    for (const f of files)
      if (!f.startsWith('kustomization.') && !(docs[0]?.resources ?? []).includes(f))
        problems.push(`${file}: resources does not list ${f}`);
    continue;
  }
  for (const [i, doc] of docs.entries()) {
    if (doc === null || doc === undefined) continue;
    const where = `${file}#${i}`;
    const Model = await modelOf(doc.apiVersion, doc.kind);
    if (Model === undefined) {
      problems.push(`${where}: unknown apiVersion/kind ${doc.apiVersion}/${doc.kind}`);
      continue;
    }
    try {
      new Model(doc).validate();
    } catch (e) {
      problems.push(`${where} (${doc.kind} ${doc.metadata?.name}): ${e.message}`);
      continue;
    }
    objects.push({ where, doc });
  }
}

const byKind = (kind) => objects.filter((o) => o.doc.kind === kind);
const matches = (selector, labels) => Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
const deployments = byKind('Deployment');
const secrets = new Set(byKind('Secret').map((o) => o.doc.metadata.name));
const claims = new Set(byKind('PersistentVolumeClaim').map((o) => o.doc.metadata.name));

for (const { where, doc } of deployments) {
  const name = doc.metadata.name;
  const pod = doc.spec.template;
  if (!matches(doc.spec.selector.matchLabels, pod.metadata?.labels))
    problems.push(`${where}: spec.selector does not match the pod template's labels`);
  for (const [c, ctr] of pod.spec.containers.entries()) {
    const ports = new Set((ctr.ports ?? []).flatMap((p) => [p.name, p.containerPort]));
    for (const [probeName, probe] of [
      ['readinessProbe', ctr.readinessProbe],
      ['livenessProbe', ctr.livenessProbe],
    ]) {
      if (probe?.httpGet && !ports.has(probe.httpGet.port))
        problems.push(
          `${where}: containers[${c}].${probeName}.httpGet.port ${probe.httpGet.port} is not a port of the container`,
        );
    }
    for (const [e, env] of (ctr.env ?? []).entries()) {
      const ref = env.valueFrom?.secretKeyRef;
      if (ref && !secrets.has(ref.name))
        problems.push(`${where}: containers[${c}].env[${e}] uses Secret ${ref.name}, not defined here`);
    }
    const role = ctr.args?.[0];
    if (role === 'master') {
      for (const p of ['readinessProbe', 'livenessProbe'])
        if (ctr[p]?.httpGet?.path !== '/healthz')
          problems.push(`${where}: the master's ${p} must GET /healthz`);
      if ((ctr.env ?? []).some((v) => v.name === 'SODA_DATA'))
        problems.push(`${where}: the master of a sharded run must not have SODA_DATA (it holds no data)`);
    }
    if (role === 'worker') {
      const data = (ctr.env ?? []).find((v) => v.name === 'SODA_DATA')?.value;
      if (!data?.includes('{shard}'))
        problems.push(`${where}: a scalable worker needs SODA_DATA with {shard}, got ${data}`);
      const master = (ctr.env ?? []).find((v) => v.name === 'SODA_MASTER')?.value ?? '';
      const host = /^wss?:\/\/([^:/]+)/.exec(master)?.[1];
      if (!byKind('Service').some((s) => s.doc.metadata.name === host))
        problems.push(`${where}: SODA_MASTER ${master} does not name a Service defined here`);
    }
  }
  for (const [v, vol] of (pod.spec.volumes ?? []).entries()) {
    const claim = vol.persistentVolumeClaim?.claimName;
    if (claim && !claims.has(claim))
      problems.push(`${where}: volumes[${v}] claims ${claim}, not defined here`);
  }
  if (name === undefined) problems.push(`${where}: no metadata.name`);
}

for (const { where, doc } of byKind('Service')) {
  const target = deployments.find((d) => matches(doc.spec.selector, d.doc.spec.template.metadata?.labels));
  if (!target) {
    problems.push(`${where}: spec.selector matches no Deployment's pods`);
    continue;
  }
  const ports = new Set(
    target.doc.spec.template.spec.containers.flatMap((c) =>
      (c.ports ?? []).flatMap((p) => [p.name, p.containerPort]),
    ),
  );
  for (const [i, p] of doc.spec.ports.entries())
    if (!ports.has(p.targetPort ?? p.port))
      problems.push(
        `${where}: spec.ports[${i}].targetPort ${p.targetPort} is not a port of ${target.doc.metadata.name}`,
      );
}

if (problems.length > 0) {
  for (const p of problems) console.error(p);
  process.exit(1);
}
console.log(
  JSON.stringify({
    valid: objects.length,
    kinds: objects.map((o) => `${o.doc.kind}/${o.doc.metadata.name}`),
  }),
);
