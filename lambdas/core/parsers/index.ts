export {
  cut,
  ParseError,
  type ParseErrorDetails,
  type ParseResult,
  parsed,
  parseFailure,
  splitLines,
} from "./errors.js";
export { parseHealth } from "./health.js";
export { type ClassHistogramOptions, parseClassHistogram, WATCHED_CLASSES } from "./histogram.js";
export { parseJstatGcutil } from "./jstat.js";
export { LOG_SCAN_LINES, parseLogScan } from "./logs.js";
export {
  type ParseProbeOptions,
  PROBE_FORMAT,
  type ProbeDocument,
  type ProbeSection,
  parseProbeOutput,
  splitProbeOutput,
} from "./probe-output.js";
export { parseSsSummary } from "./ss-summary.js";
