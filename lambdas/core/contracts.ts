/**
 * The JSON contracts of runbook-autopilot, for people who read what it writes (`runbook diagnose
 * --output json`, `incident.json`, `evidence/*.json`, the postmortem model) or write runbooks and
 * overrides: the zod schemas (validators) and their TypeScript types, and each document's
 * `schemaVersion`. Imported as `runbook-autopilot/contracts`. What counts as a breaking change, and so a
 * new schemaVersion: docs/contracts.md.
 */
export {
  DIAGNOSIS_SCHEMA_VERSION,
  type Diagnosis,
  diagnosisSchema,
  type EvidenceLine,
  type FailureClassId,
  type Finding,
} from "./diagnosis/schema.js";
export { EVIDENCE_SCHEMA_VERSION, type Evidence, evidenceSchema } from "./evidence/schema.js";
export {
  type ActionId,
  INCIDENT_SCHEMA_VERSION,
  type IncidentRecord,
  type IncidentStatus,
  incidentRecordSchema,
  type Mode,
  type PlannedAction,
  type Step,
} from "./incident/schema.js";
/** The probe's stdout format (`#runbook-probe format=N`), parsed into Evidence. */
export { PROBE_FORMAT } from "./parsers/probe-output.js";
export { POSTMORTEM_SCHEMA_VERSION, type Postmortem, postmortemSchema } from "./postmortem/schema.js";
export type { RunbookOverride } from "./runbook/override.js";
export { RUNBOOK_API_VERSION, type Runbook, runbookSchema } from "./runbook/schema.js";
