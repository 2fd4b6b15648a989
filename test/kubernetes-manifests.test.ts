import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/*
 * deploy/kubernetes validated against the Kubernetes API schemas (kubernetes-models, ESM, hence a
 * child process) plus the cross-references the schemas cannot see; each check is shown to bite.
 */

const ROOT = path.resolve(__dirname, '..');
const SCRIPT = path.join(ROOT, 'scripts', 'validate-k8s.mjs');
const SRC = path.join(ROOT, 'deploy', 'kubernetes');
const dir = mkdtempSync(path.join(tmpdir(), 'soda-k8s-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function validate(d: string) {
  return spawnSync(process.execPath, [SCRIPT, d], { encoding: 'utf8', timeout: 60000 });
}

/** A copy of the manifests with one file's text edited. */
function broken(file: string, from: string, to: string): string {
  const d = mkdtempSync(path.join(dir, 'case-'));
  cpSync(SRC, d, { recursive: true });
  const text = readFileSync(path.join(d, file), 'utf8');
  expect(text).toContain(from);
  writeFileSync(path.join(d, file), text.replace(from, to));
  return d;
}

describe('Kubernetes manifests', () => {
  it('validate against the API schemas and each other', () => {
    const r = validate(SRC);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      valid: 6,
      kinds: [
        'Job/soda-master',
        'Service/soda-master',
        'PersistentVolumeClaim/soda-out',
        'Secret/soda-token',
        'PersistentVolumeClaim/soda-shards',
        'Job/soda-worker',
      ],
    });
  });

  it.each([
    ['master.yaml', 'containerPort: 7070', "containerPort: 'x'", 'containerPort must be integer'],
    ['workers.yaml', 'completions: 20', 'completions: many', 'completions must be integer'],
    ['master.yaml', 'path: /healthz', 'path: /', "the master's readinessProbe must GET /healthz"],
    ['workers.yaml', '/shards/part-{shard}.svm', '/shards/part-0.svm', 'needs SODA_DATA with {shard}'],
    ['workers.yaml', 'claimName: soda-shards', 'claimName: other', 'claims other, not defined here'],
    ['workers.yaml', 'name: soda-token', 'name: nope', 'uses Secret nope'],
    ['master.yaml', 'targetPort: ws', 'targetPort: web', 'targetPort web is not a port'],
    ['master.yaml', 'kind: Service', 'kind: Servize', 'unknown apiVersion/kind v1/Servize'],
  ])('%s with %s → %s refused (%s)', (file, from, to, why) => {
    const r = validate(broken(file, from, to));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(why);
    expect(r.stderr).toContain(file);
  });
});
