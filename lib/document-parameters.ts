import { actionCommands } from "../lambdas/core/mitigation/actions/registry.js";
import { HEALTH_CHECK_COMMAND } from "../lambdas/core/mitigation/health-check.js";
import {
  ABS_PATH_OR_EMPTY,
  HEALTH_PATH_PARAMETER,
  type HostCommand,
  PID_PARAMETER,
  PORT_PARAMETER,
  UINT,
} from "../lambdas/core/mitigation/host-command.js";
import {
  DEFAULT_REDACTION_RULES,
  encodeForProbe,
  PROBE_PATTERNS_MAX_CHARS,
} from "../lambdas/core/redact/index.js";

/** A raw-output folder: like ABS_PATH_OR_EMPTY plus spaces (the scripts quote it; `.`/`..` refused there). */
const RAW_DIR_OR_EMPTY = "^(/[A-Za-z0-9._/ -]{1,300})?$";

/**
 * The SSM Command documents the stack deploys: the probe's (below) and one per host command of the
 * action registry (lambdas/core/mitigation/actions/, plus check-health), each described once in its
 * core module: script, parameters, allowed patterns, defaults. The scripts repeat each pattern's check
 * on the host. Every parameter uses `interpolationType: ENV_VAR`: values reach the script as
 * `SSM_<name>` and are never spliced into script text.
 */
export type { ParameterSpec } from "../lambdas/core/mitigation/host-command.js";

export interface CommandDocumentSpec extends HostCommand {
  /** Step (plugin) name whose output is the command's result. */
  readonly step: string;
}

export const PROBE_DOCUMENT: CommandDocumentSpec = {
  name: "probe",
  script: "probes/api-unreachable.sh",
  step: "probe",
  description: "runbook-autopilot probe: read-only evidence collection for an unreachable JVM API",
  executionTimeoutSeconds: 3600,
  parameters: {
    port: PORT_PARAMETER,
    pid: PID_PARAMETER,
    healthPath: HEALTH_PATH_PARAMETER,
    logPath: {
      description: "Application log to scan (empty: find it: docs/rules.md, Evidence first)",
      allowedPattern: ABS_PATH_OR_EMPTY,
      default: "",
    },
    rawDir: {
      description: "Host folder for raw tool outputs (empty: none)",
      allowedPattern: RAW_DIR_OR_EMPTY,
      default: "",
    },
    rawBase: {
      description:
        "Host base folder of raw outputs: checked (no symlink, 0700, own), retention 7 days (empty: none)",
      allowedPattern: RAW_DIR_OR_EMPTY,
      default: "",
    },
    redactPatterns: {
      description: "Secret patterns, base64 (lambdas/core/redact encodeForProbe); default: the built-in ones",
      allowedPattern: `^[A-Za-z0-9+/=]{0,${PROBE_PATTERNS_MAX_CHARS}}$`,
      default: encodeForProbe(DEFAULT_REDACTION_RULES),
    },
    timeoutSeconds: { description: "Probe time budget, 5-3600 s", allowedPattern: UINT(4), default: "30" },
    healthTimeoutSeconds: {
      description: "The local health check's wait for an answer, 1-60 s, under timeoutSeconds (empty: 3)",
      allowedPattern: "^([1-9][0-9]?)?$",
      default: "",
    },
    idleThresholdMs: {
      description: "Idle socket threshold, ms",
      allowedPattern: UINT(10),
      default: "120000",
    },
    histogramMode: {
      description: "Class histogram: live (GC first) or all",
      allowedPattern: "^(live|all)$",
      default: "live",
    },
    sessionClasses: {
      description:
        "WebSocket session classes to count in the class histogram, space-separated (the runbook's probe.sessionClasses; empty: none)",
      allowedPattern: "^([A-Za-z_][A-Za-z0-9_$.]{0,200}( [A-Za-z_][A-Za-z0-9_$.]{0,200}){0,19})?$",
      default: "",
    },
    service: {
      description: "systemd unit of the service: why its process exited (empty: none)",
      allowedPattern: "^([A-Za-z0-9@._:-]{1,128})?$",
      default: "",
    },
  },
};

/** The document of each registered action with a host script, and check-health's, by command name. */
export function actionDocuments(): Readonly<Record<string, CommandDocumentSpec>> {
  const commands = [...actionCommands(), HEALTH_CHECK_COMMAND];
  return Object.fromEntries(commands.map((c) => [c.name, { ...c, step: c.name }]));
}

/**
 * Prints the `raw` step: the probe's raw tool outputs from SSM_rawDir (already redacted and cut by the
 * probe), shipped to S3. No parameters spliced. The folder must be a real folder owned by this user and
 * not open to group or others (the probe made it so); only regular files are printed, never a symlink
 * (`find -type f` does not follow), with 16 MiB per file and 64 MiB in all at most.
 */
export const RAW_STEP_SCRIPT = [
  "#!/usr/bin/env bash",
  // aws:runShellScript may run the step with sh, ignoring the shebang: re-run it with bash.
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a JS template
  'if [ -z "${BASH_VERSION:-}" ] && [ -f "$0" ] && command -v bash >/dev/null 2>&1; then exec bash "$0" "$@"; fi',
  "set -u",
  "umask 077",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: bash parameter expansion, not a JS template
  "dir=${SSM_rawDir:-}",
  '[[ -z $dir ]] && { echo "raw: no rawDir"; exit 0; }',
  // The document's pattern (spaces allowed, the path is always quoted); no . or .. component.
  "re='^/[A-Za-z0-9._/ -]{1,300}$'",
  '[[ $dir =~ $re && /$dir/ != */../* && /$dir/ != */./* ]] || { echo "raw: invalid rawDir" >&2; exit 2; }',
  '[[ -L $dir ]] && { echo "raw: refused: $dir is a symbolic link" >&2; exit 2; }',
  '[[ -d $dir ]] || { echo "raw: $dir does not exist"; exit 0; }',
  'st=$(stat -c "%u %a" -- "$dir") || exit 2',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: bash parameter expansion, not a JS template
  '[[ ${st% *} == "$(id -u)" ]] || { echo "raw: refused: $dir is owned by uid ${st% *}" >&2; exit 2; }',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: bash parameter expansion, not a JS template
  '(((8#${st#* } & 8#077) == 0)) || { echo "raw: refused: $dir is open to group or others (mode ${st#* })" >&2; exit 2; }',
  "left=67108864",
  "while IFS= read -r -d '' f; do",
  '  ((left > 0)) || { echo "===== truncated: 64 MiB printed, $f and the rest left out"; break; }',
  "  n=16777216; ((n > left)) && n=$left",
  '  echo "===== $f"; head -c "$n" -- "$f"; echo',
  '  s=$(stat -c %s -- "$f" 2>/dev/null || echo 0); ((s > n)) && echo "===== truncated: $f $s bytes, $n printed"',
  "  ((s < n)) && n=$s; left=$((left - n))",
  'done < <(find "$dir" -mindepth 1 -maxdepth 1 -type f ! -name ".*" -print0 | sort -z)',
].join("\n");
