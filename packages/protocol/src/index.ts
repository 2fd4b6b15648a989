/*
 * @soda/protocol's public surface, named one by one: no `export *`. Besides keeping internals internal,
 * this is for speed: tsc compiles `export *` into one shared getter (`m[k]`) for every name, a
 * megamorphic load that V8 cannot inline, and it cost ≈ 9 % of the master's CPU per update in a hot
 * loop (`npm run bench:master`); a named re-export gets a getter of its own, which V8 inlines.
 */
export {
  DEFAULT_MAX_PAYLOAD,
  DEFAULT_MAX_PAYLOAD_MASTER,
  DEFAULT_MAX_PAYLOAD_WORKER,
  LIMITS,
  MASTER_TYPES,
  PROTOCOL_VERSION,
  WORKER_TYPES,
  type Assign,
  type Challenge,
  type ErrorMsg,
  type Eval,
  type EvalResult,
  type FromMaster,
  type FromWorker,
  type Hello,
  type Message,
  type MessageType,
  type Model,
  type Ready,
  type Scale,
  type ShardRows,
  type Standby,
  type Stats,
  type Stop,
  type Update,
  type Welcome,
  type WirePrecision,
} from './messages';
export {
  CLOSE_CODES,
  MAX_CLOSE_REASON_BYTES,
  ProtocolError,
  closeReason,
  errorFrame,
  type ProtocolErrorCode,
} from './errors';
export {
  allFloat32,
  decodeFromMaster,
  decodeFromWorker,
  encode,
  encodeFor,
  encodeToSeal,
  validateOutgoing,
  type DecodeResult,
  type FrameData,
} from './codec';
export {
  NONCE_BYTES,
  PROOF_BYTES,
  makeNonce,
  proveSession,
  proveToken,
  transcript,
  verifyProof,
  verifySession,
  type Direction,
  type SessionParams,
} from './auth';
export { FrameMac, MAC_BYTES } from './session';
export { FramePool } from './frame-pool';
export type { DecodeContext } from './frames';
export {
  LISTENING_EVENT,
  LOG_MSG,
  isListeningRecord,
  type ListeningRecord,
  type ProgressRecord,
  type StartRecord,
  type SummaryRecord,
  type TrafficCounters,
} from './log-records';
export { applyModelDiff, applyModelDiffInto, heldModel, modelDiff, roundForWire } from './wire-precision';
export { IndexScratch } from './varint';
