/*
 * What deploy/kubernetes must do, checked on the objects `kubectl kustomize` renders (issue 20):
 * the master a Job that restarts on failure with --resume auto and its checkpoint on a
 * PersistentVolumeClaim; the workers an Indexed Job of M pods whose completion index is their --shard.
 * Each finding names the object and what is wrong; none means the semantics hold.
 */

export type K8sObject = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const COMPLETION_INDEX = "metadata.annotations['batch.kubernetes.io/job-completion-index']";

interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: { readonly fieldRef?: { readonly fieldPath?: string } };
}

/**
 * A container's environment as the kubelet builds it: $(VAR) refers to a variable declared earlier in
 * the list (else it stays as written); a fieldRef becomes `<field:PATH>`.
 */
export function environment(container: K8sObject): Map<string, string> {
  const env = new Map<string, string>();
  for (const e of (container.env ?? []) as EnvVar[]) {
    const path = e.valueFrom?.fieldRef?.fieldPath;
    const raw = path !== undefined ? `<field:${path}>` : (e.value ?? '');
    env.set(
      e.name,
      raw.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v: string) => env.get(v) ?? m),
    );
  }
  return env;
}

const podOf = (job: K8sObject): K8sObject => job.spec?.template?.spec ?? {};

/** The container of a pod running `soda <role>`. */
function containerOf(job: K8sObject, role: string): K8sObject | undefined {
  return ((podOf(job).containers ?? []) as K8sObject[]).find((c) => c.args?.[0] === role);
}

/** Whether `file` lies on a mount of the pod backed by a PersistentVolumeClaim (and which). */
function claimHolding(pod: K8sObject, container: K8sObject, file: string): string | null {
  for (const m of (container.volumeMounts ?? []) as K8sObject[]) {
    const dir = String(m.mountPath).replace(/\/$/, '');
    if (!file.startsWith(dir + '/')) continue;
    const vol = ((pod.volumes ?? []) as K8sObject[]).find((v) => v.name === m.name);
    if (vol?.persistentVolumeClaim?.claimName && m.readOnly !== true)
      return vol.persistentVolumeClaim.claimName as string;
  }
  return null;
}

export function semanticProblems(objects: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  const find = (kind: string, name: string) =>
    objects.find((o) => o.kind === kind && o.metadata?.name === name);
  for (const o of objects)
    if (o.kind === 'Deployment' || o.kind === 'StatefulSet' || o.kind === 'ReplicaSet')
      problems.push(
        `${o.kind}/${o.metadata?.name}: a finished run must stay finished; run SODA as Jobs, not a ${o.kind}`,
      );
  const claims = new Set(
    objects.filter((o) => o.kind === 'PersistentVolumeClaim').map((o) => o.metadata?.name as string),
  );

  const master = find('Job', 'soda-master');
  let workersWanted: number | null = null;
  let masterLabels: Record<string, string> = {};
  if (master === undefined) problems.push('no Job/soda-master');
  else {
    const pod = podOf(master);
    masterLabels = master.spec?.template?.metadata?.labels ?? {};
    if (pod.restartPolicy !== 'OnFailure')
      problems.push(`Job/soda-master: restartPolicy ${pod.restartPolicy}, not OnFailure`);
    if (!(Number.isInteger(master.spec?.backoffLimit) && master.spec.backoffLimit >= 1))
      problems.push(
        `Job/soda-master: backoffLimit ${master.spec?.backoffLimit} (a positive integer is needed)`,
      );
    const c = containerOf(master, 'master');
    if (c === undefined) problems.push('Job/soda-master: no container runs `soda master`');
    else {
      const env = environment(c);
      if (env.get('SODA_RESUME') !== 'auto')
        problems.push(`Job/soda-master: SODA_RESUME is ${env.get('SODA_RESUME')}, not auto`);
      const ck = env.get('SODA_CHECKPOINT') ?? `${env.get('SODA_OUT') ?? '/data/out'}/checkpoint.soda`;
      const claim = claimHolding(pod, c, ck);
      if (claim === null)
        problems.push(
          `Job/soda-master: the checkpoint ${ck} is not on a writable PersistentVolumeClaim mount`,
        );
      else if (!claims.has(claim))
        problems.push(`Job/soda-master: the checkpoint's claim ${claim} is not defined here`);
      if (/\$\(/.test(ck)) problems.push(`Job/soda-master: ${ck} refers to an undefined variable`);
      workersWanted = Number(env.get('SODA_WORKERS'));
      if (!Number.isInteger(workersWanted) || workersWanted < 1)
        problems.push(`Job/soda-master: SODA_WORKERS ${env.get('SODA_WORKERS')} is not a count`);
      if (env.get('SODA_DATA_AT_WORKERS') !== 'true')
        problems.push('Job/soda-master: SODA_DATA_AT_WORKERS must be true (the workers hold the shards)');
    }
  }

  const workers = find('Job', 'soda-worker');
  if (workers === undefined) problems.push('no Job/soda-worker');
  else {
    const { spec } = workers;
    const pod = podOf(workers);
    if (spec?.completionMode !== 'Indexed')
      problems.push(`Job/soda-worker: completionMode ${spec?.completionMode}, not Indexed`);
    if (spec?.completions !== workersWanted || spec?.parallelism !== workersWanted)
      problems.push(
        `Job/soda-worker: completions ${spec?.completions} and parallelism ${spec?.parallelism} ` +
          `must both be the master's SODA_WORKERS ${workersWanted}`,
      );
    if (pod.restartPolicy !== 'OnFailure')
      problems.push(`Job/soda-worker: restartPolicy ${pod.restartPolicy}, not OnFailure`);
    const c = containerOf(workers, 'worker');
    if (c === undefined) problems.push('Job/soda-worker: no container runs `soda worker`');
    else {
      const env = environment(c);
      if (env.get('SODA_SHARD') !== `<field:${COMPLETION_INDEX}>`)
        problems.push(
          `Job/soda-worker: SODA_SHARD is ${env.get('SODA_SHARD')}, not the pod's completion index ` +
            '($(JOB_COMPLETION_INDEX))',
        );
      if (!env.get('SODA_DATA')?.includes('{shard}'))
        problems.push(`Job/soda-worker: SODA_DATA ${env.get('SODA_DATA')} has no {shard}`);
      if (!(Number(env.get('SODA_GIVE_UP')) > 0))
        problems.push(
          `Job/soda-worker: SODA_GIVE_UP ${env.get('SODA_GIVE_UP')}: a worker must give up some day`,
        );
      const host = /^wss?:\/\/([^:/]+):(\d+)/.exec(env.get('SODA_MASTER') ?? '');
      const svc = host ? find('Service', host[1]) : undefined;
      if (svc === undefined)
        problems.push(`Job/soda-worker: SODA_MASTER ${env.get('SODA_MASTER')} names no Service defined here`);
      else {
        const sel = (svc.spec?.selector ?? {}) as Record<string, string>;
        if (Object.keys(sel).length === 0 || !Object.entries(sel).every(([k, v]) => masterLabels[k] === v))
          problems.push(`Service/${host![1]}: its selector does not pick the master's pods`);
        if (!((svc.spec?.ports ?? []) as K8sObject[]).some((p) => p.port === Number(host![2])))
          problems.push(`Service/${host![1]}: no port ${host![2]}`);
      }
    }
  }
  return problems;
}
