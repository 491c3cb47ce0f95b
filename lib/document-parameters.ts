import { DEFAULT_REDACTION_RULES, encodeForProbe } from "../lambdas/core/redact/index.js";

/**
 * The SSM document parameters of each runbook command: names, allowed patterns, defaults.
 * Mirrors the validation each script repeats on the host (runbooks/probes, runbooks/actions).
 * Every parameter uses `interpolationType: ENV_VAR`: values reach the script as `SSM_<name>` and are
 * never spliced into script text.
 */
export interface ParameterSpec {
  readonly description: string;
  readonly allowedPattern: string;
  readonly default: string;
}

const PORT: ParameterSpec = {
  description: "Application TCP port",
  allowedPattern: "^[0-9]{1,5}$",
  default: "8080",
};
const PID: ParameterSpec = {
  description: "Process id (empty: the listener of the port)",
  allowedPattern: "^([1-9][0-9]{0,9})?$",
  default: "",
};
const START_TICKS: ParameterSpec = {
  description: "Start time of pid in clock ticks after boot, from the evidence (required with pid)",
  allowedPattern: "^([0-9]{1,20})?$",
  default: "",
};
const HEALTH_PATH: ParameterSpec = {
  description: "Local health path",
  allowedPattern: "^/[A-Za-z0-9._~/-]{0,200}$",
  default: "/health",
};
const ABS_PATH_OR_EMPTY = "^(/[A-Za-z0-9._/-]{1,300})?$";
/** A raw-output folder: like ABS_PATH_OR_EMPTY plus spaces (the scripts quote it; `.`/`..` refused there). */
const RAW_DIR_OR_EMPTY = "^(/[A-Za-z0-9._/ -]{1,300})?$";
const UINT = (digits: number) => `^[0-9]{1,${digits}}$`;

export interface CommandDocumentSpec {
  /** Script file under runbooks/. */
  readonly script: string;
  /** Step (plugin) name whose output is the command's result. */
  readonly step: string;
  readonly description: string;
  /** aws:runShellScript timeoutSeconds for the step. */
  readonly executionTimeoutSeconds: number;
  readonly parameters: Readonly<Record<string, ParameterSpec>>;
}

export const PROBE_DOCUMENT: CommandDocumentSpec = {
  script: "probes/api-unreachable.sh",
  step: "probe",
  description: "runbook-autopilot probe: read-only evidence collection for an unreachable JVM API",
  executionTimeoutSeconds: 3600,
  parameters: {
    port: PORT,
    pid: PID,
    healthPath: HEALTH_PATH,
    logPath: {
      description: "Application log to scan (empty: none)",
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
      allowedPattern: "^[A-Za-z0-9+/=]{0,16000}$",
      default: encodeForProbe(DEFAULT_REDACTION_RULES),
    },
    timeoutSeconds: { description: "Probe time budget, 5-3600 s", allowedPattern: UINT(4), default: "30" },
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
  },
};

export const ACTION_DOCUMENTS: Readonly<Record<string, CommandDocumentSpec>> = {
  "kill-idle-connections": {
    script: "actions/kill-idle-connections.sh",
    step: "kill-idle-connections",
    description: "runbook-autopilot action: destroy idle ESTABLISHED sockets on the app port (ss -K)",
    executionTimeoutSeconds: 300,
    parameters: {
      port: PORT,
      // The script requires both (the diagnosed process, re-checked on the host); empty is refused there.
      pid: PID,
      startTicks: START_TICKS,
      minIdleMs: {
        description: "Only sockets idle longer than this (idle > threshold, the probe's rule), ms",
        allowedPattern: UINT(10),
        default: "120000",
      },
      maxConnections: {
        description: "Refuse above this many candidates",
        allowedPattern: UINT(7),
        default: "50000",
      },
      dryRun: { description: "true: list only", allowedPattern: "^(true|false)$", default: "false" },
      limit: {
        description: "Destroy only the N most idle candidates (relief batch); empty: all",
        allowedPattern: "^([1-9][0-9]{0,6})?$",
        default: "",
      },
    },
  },
  "restart-service": {
    script: "actions/restart-service.sh",
    step: "restart-service",
    description: "runbook-autopilot action: restart the systemd unit behind the app port and wait for health",
    executionTimeoutSeconds: 900,
    parameters: {
      port: PORT,
      pid: PID,
      startTicks: START_TICKS,
      service: {
        description: "systemd unit",
        allowedPattern: "^([A-Za-z0-9@._:-]{1,128})?$",
        default: "",
      },
      // Free-form start commands are a laptop feature; through SSM only a systemd unit can be restarted.
      restartCommand: {
        description: "Not allowed through SSM: must be empty",
        allowedPattern: "^$",
        default: "",
      },
      graceSeconds: {
        description: "SIGTERM grace before SIGKILL, s",
        allowedPattern: UINT(4),
        default: "20",
      },
      startTimeoutSeconds: {
        description: "Wait for listen + health, s",
        allowedPattern: UINT(4),
        default: "90",
      },
      healthPath: HEALTH_PATH,
    },
  },
  "check-health": {
    script: "actions/check-health.sh",
    step: "check-health",
    description: "runbook-autopilot action: probe the local health path until 2xx",
    executionTimeoutSeconds: 600,
    parameters: {
      port: PORT,
      healthPath: HEALTH_PATH,
      attempts: { description: "Attempts", allowedPattern: UINT(3), default: "15" },
      intervalSeconds: { description: "Seconds between attempts", allowedPattern: UINT(3), default: "2" },
      requestTimeoutSeconds: {
        description: "Per-request time-out, s",
        allowedPattern: UINT(2),
        default: "3",
      },
    },
  },
};

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
