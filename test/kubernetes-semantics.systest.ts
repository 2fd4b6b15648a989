import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import yaml from 'js-yaml';
import { environment, semanticProblems, type K8sObject } from './helpers/k8s-semantics';

/*
 * `kubectl kustomize deploy/kubernetes` (kubectl from Debian's kubernetes-client package, or any
 * kubectl; npm run test:kustomize) renders the objects `kubectl apply -k` would create, and they do
 * what issue 20 asks: a master Job restarting on failure with --resume auto and its checkpoint on a
 * PersistentVolumeClaim, an Indexed worker Job whose completion index is each worker's --shard.
 * Every check is shown to bite on a copy of the rendered objects with one thing changed.
 */

const ROOT = path.resolve(__dirname, '..');

function render(): K8sObject[] {
  let text: string;
  try {
    text = execFileSync('kubectl', ['kustomize', path.join(ROOT, 'deploy', 'kubernetes')], {
      encoding: 'utf8',
      timeout: 60000,
    });
  } catch (e) {
    throw new Error(
      `kubectl kustomize failed (install kubectl: apt-get install kubernetes-client, or run .ci/run): ${(e as Error).message}`,
    );
  }
  return yaml.loadAll(text).filter((o): o is K8sObject => typeof o === 'object' && o !== null);
}

const rendered = render();
const copy = (): K8sObject[] => structuredClone(rendered);
const job = (objs: K8sObject[], name: string) =>
  objs.find((o) => o.kind === 'Job' && o.metadata.name === name)!;
const container = (objs: K8sObject[], name: string) => job(objs, name).spec.template.spec.containers[0];
const envVar = (objs: K8sObject[], name: string, v: string) =>
  (container(objs, name).env as { name: string; value?: string }[]).find((e) => e.name === v)!;

test('kubectl kustomize renders a master Job and an Indexed worker Job that do what issue 20 asks', () => {
  expect(rendered.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
    'Job/soda-master',
    'Job/soda-worker',
    'PersistentVolumeClaim/soda-out',
    'PersistentVolumeClaim/soda-shards',
    'Secret/soda-token',
    'Service/soda-master',
  ]);
  expect(semanticProblems(rendered)).toEqual([]);
  const master = environment(container(rendered, 'soda-master'));
  expect(master.get('SODA_CHECKPOINT')).toBe('/out/run-1/checkpoint.soda');
  expect(environment(container(rendered, 'soda-worker')).get('SODA_SHARD')).toBe(
    "<field:metadata.annotations['batch.kubernetes.io/job-completion-index']>",
  );
});

test.each<[string, (o: K8sObject[]) => void, RegExp]>([
  [
    'the master as a Deployment',
    (o) => (job(o, 'soda-master').kind = 'Deployment'),
    /Deployment\/soda-master: a finished run must stay finished/,
  ],
  [
    'a master that is never restarted',
    (o) => (job(o, 'soda-master').spec.template.spec.restartPolicy = 'Never'),
    /soda-master: restartPolicy Never, not OnFailure/,
  ],
  ['no backoffLimit', (o) => delete job(o, 'soda-master').spec.backoffLimit, /backoffLimit undefined/],
  [
    'resume off',
    (o) => (envVar(o, 'soda-master', 'SODA_RESUME').value = 'true'),
    /SODA_RESUME is true, not auto/,
  ],
  [
    'the checkpoint on the pod',
    (o) => (job(o, 'soda-master').spec.template.spec.volumes[0] = { name: 'out', emptyDir: {} }),
    /checkpoint \/out\/run-1\/checkpoint.soda is not on a writable PersistentVolumeClaim/,
  ],
  [
    'the checkpoint outside the mount',
    (o) => (envVar(o, 'soda-master', 'SODA_CHECKPOINT').value = '/tmp/ck.soda'),
    /\/tmp\/ck.soda is not on a writable PersistentVolumeClaim/,
  ],
  [
    'an undefined run id',
    (o) => (envVar(o, 'soda-master', 'SODA_CHECKPOINT').value = '/out/$(RUN)/ck.soda'),
    /refers to an undefined variable/,
  ],
  [
    'workers not indexed',
    (o) => (job(o, 'soda-worker').spec.completionMode = 'NonIndexed'),
    /completionMode NonIndexed, not Indexed/,
  ],
  [
    'one worker short',
    (o) => (job(o, 'soda-worker').spec.completions = 19),
    /completions 19 and parallelism 20 must both be the master's SODA_WORKERS 20/,
  ],
  [
    'the shard not from the index',
    (o) => (envVar(o, 'soda-worker', 'SODA_SHARD').value = '0'),
    /SODA_SHARD is 0, not the pod's completion index/,
  ],
  [
    'the index declared after its use',
    (o) => container(o, 'soda-worker').env.reverse(),
    /SODA_SHARD is \$\(JOB_COMPLETION_INDEX\), not the pod's completion index/,
  ],
  [
    'workers that never give up',
    (o) => (envVar(o, 'soda-worker', 'SODA_GIVE_UP').value = '0'),
    /must give up/,
  ],
  [
    'a Service that misses the master',
    (o) => (o.find((x) => x.kind === 'Service').spec.selector['app.kubernetes.io/component'] = 'worker'),
    /selector does not pick the master's pods/,
  ],
])('%s is caught', (_, edit, problem) => {
  const objs = copy();
  edit(objs);
  expect(semanticProblems(objs).join('\n')).toMatch(problem);
});
