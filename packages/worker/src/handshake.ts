import type WebSocket from 'ws';
import {
  FrameMac,
  makeNonce,
  PROTOCOL_VERSION,
  proveSession,
  ProtocolError,
  verifySession,
  type Challenge,
  type Hello,
  type SessionParams,
  type Welcome,
} from '@soda/protocol';
import type { WorkerConfig } from './config';

/*
 * The session handshake, worker side: challenge → hello → (with a token) welcome. With a token the
 * master is a stranger until its welcome proves it: the worker reads only challenge-sized frames
 * (receiver limit) and obeys nothing but the welcome (service.ts). Pure functions; the state lives in
 * the worker's 'handshake' phase.
 */

/** Largest frame a worker with a token reads before the master proved it (a challenge is < 200 B). */
export const PRE_AUTH_MAX_PAYLOAD = 16 * 1024;

/** The answer to a challenge: a hello (and, with a token, the session awaiting the welcome), or a refusal. */
export type ChallengeAnswer =
  | { readonly kind: 'hello'; readonly hello: Hello; readonly session: SessionParams | null }
  | { readonly kind: 'refuse'; readonly why: string };

/** Throws E_VERSION for a master of another protocol version (retrying cannot help). */
export function answerChallenge(cfg: WorkerConfig, msg: Challenge): ChallengeAnswer {
  if (msg.version !== PROTOCOL_VERSION)
    throw new ProtocolError(
      'E_VERSION',
      `master speaks protocol ${msg.version}, this worker speaks ${PROTOCOL_VERSION}`,
      'version',
    );
  const pinned = cfg.shard !== undefined ? { shard: cfg.shard } : {}; // a worker pinned to one shard says so
  const token = cfg.token;
  if (token === undefined) {
    if (msg.authRequired) cfg.logger.warn('the master requires a token; set SODA_TOKEN (or --token)');
    const hello: Hello = { t: 'hello', version: PROTOCOL_VERSION, workerId: cfg.workerId, ...pinned };
    return { kind: 'hello', hello, session: null };
  }
  // A master that does not ask for the token cannot prove it: an impostor, or a master started
  // without one. Either way this worker's data and results are not for it.
  if (!msg.authRequired)
    return { kind: 'refuse', why: 'this worker has a token but the master does not ask for one' };
  const session: SessionParams = {
    masterNonce: msg.nonce,
    workerNonce: makeNonce(),
    runId: msg.runId ?? '',
    mac: msg.mac ?? false,
  };
  const hello: Hello = {
    t: 'hello',
    version: PROTOCOL_VERSION,
    workerId: cfg.workerId,
    nonce: session.workerNonce,
    proof: proveSession(token, 'worker->master', session),
    ...pinned,
  };
  return { kind: 'hello', hello, session };
}

/** The welcome's verdict: the session's frame MAC (null: no MAC), or a refusal. */
export type WelcomeVerdict =
  | { readonly kind: 'proved'; readonly mac: FrameMac | null }
  | { readonly kind: 'refuse'; readonly why: string };

export function checkWelcome(token: string, session: SessionParams, msg: Welcome): WelcomeVerdict {
  if (!verifySession(token, 'master->worker', session, msg.proof))
    return { kind: 'refuse', why: 'the master could not prove the token (wrong welcome proof)' };
  return { kind: 'proved', mac: session.mac ? FrameMac.forWorker(token, session) : null };
}

/**
 * The largest frame `ws` reads from now on (same Receiver field as the master's pre-auth cap, see
 * master/src/connections.ts): ws has no public setter.
 */
export function setReceiverLimit(ws: WebSocket, bytes: number): void {
  const r = (ws as unknown as { _receiver?: { _maxPayload?: number } })._receiver;
  if (r === undefined || typeof r._maxPayload !== 'number')
    throw new Error(
      'ws internals changed: WebSocket._receiver._maxPayload is gone (see worker/handshake.ts)',
    );
  r._maxPayload = bytes;
}
