/**
 * runbook-autopilot for your CDK app: `import { ApiUnreachableRunbook } from "runbook-autopilot"`.
 * The JSON contracts (Diagnosis, incident record, Evidence) are in `runbook-autopilot/contracts`.
 */
export {
  ApiUnreachableRunbook,
  type ApiUnreachableRunbookProps,
  DEFAULT_OPT_IN_TAG,
  type RunbookMode,
  type RunbookServiceProps,
  type RunbookTag,
} from "./api-unreachable-runbook.js";
export { acknowledgeRunbookNagFindings } from "./nag-suppressions.js";
export { type DocumentRef, RunbookDocuments, type RunbookDocumentsProps } from "./runbook-documents.js";
export { RunbookInstancePolicy, type RunbookInstancePolicyProps } from "./runbook-instance-policy.js";
export type { RunbookOverride } from "./runbook-override.js";
export { RunbookStack, type RunbookStackProps } from "./runbook-stack.js";
