/**
 * Test oracles: TypeScript re-implementations of the probe's socket, thread and fd aggregation.
 * Production has one aggregation, the probe's awk (runbooks/probes/api-unreachable.sh); these read the
 * full raw tool outputs of a capture so tests can check the awk against an independent reading.
 * Nothing under lambdas/, lib/ or cli/ may import them.
 */
export { evidenceFromRawFiles, type RawFiles, type RawMeta } from "./from-raw.js";
export { aggregateThreads, type JstackParse, type JstackThread, parseJstack } from "./jstack.js";
export {
  type FdKind,
  type FdTargets,
  fdKindOf,
  type ProcLimit,
  type ProcLimits,
  parseFdTargets,
  parseFileNr,
  parseProcLimits,
} from "./proc.js";
export {
  aggregateSockets,
  IDLE_BUCKETS,
  parseSs,
  parseSsListen,
  peerAddressOf,
  type SsOptions,
  type SsParse,
  type SsSocket,
} from "./ss.js";
