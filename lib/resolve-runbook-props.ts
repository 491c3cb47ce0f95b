import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { healthTimeoutFits } from "../lambdas/core/runbook/schema.js";
import { type RunSettings, resolveRunSettings } from "../lambdas/core/settings/run-settings.js";
import {
  type ApiUnreachableRunbookProps,
  DEFAULT_OPT_IN_TAG,
  type RunbookTag,
} from "./api-unreachable-runbook-props.js";
import { RUNBOOKS_DIR } from "./paths.js";
import { resolveConstructRunbook } from "./runbook-override.js";

/** Which alarms start the runbook. */
export interface AlarmSelection {
  readonly selectionTag: RunbookTag | null;
  readonly prefixes: readonly string[];
  readonly alarmNames: readonly string[];
}

/** The construct's props checked and resolved: what the resources are built from. */
export interface ResolvedRunbookProps extends AlarmSelection {
  readonly optInTag: RunbookTag;
  readonly fleetBrakeShare: number;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly approvalTimeout: Duration;
  /** The shipped runbook with its override, and the files the Lambdas ship. */
  readonly runbook: ReturnType<typeof resolveConstructRunbook>;
  readonly settings: RunSettings;
}

/** Checks the props (one clear error each) and resolves their defaults. */
export function resolveRunbookProps(props: ApiUnreachableRunbookProps): ResolvedRunbookProps {
  if (props.topic && props.notificationTopic)
    throw new Error("give topic or notificationTopic (deprecated), not both");
  const selection = resolveAlarmSelection(props);
  const share = props.fleetBrakeShare ?? 0.5;
  if (!(share > 0 && share <= 1)) throw new Error(`fleetBrakeShare must be in (0, 1], got ${share}`);
  const runbook = resolveConstructRunbook("api-unreachable", RUNBOOKS_DIR, props.runbook);
  // One resolver (lambdas/core/settings): the runbook (with its override) holds the defaults, the
  // props win; the Lambdas get the resolved values.
  const settings = resolveRunSettings(runbook.doc, {
    mode: props.defaultMode,
    cooldownSeconds: props.cooldown?.toSeconds(),
    probeTimeoutSeconds: props.probeTimeout?.toSeconds(),
  });
  if (!healthTimeoutFits(settings.probe))
    throw new Error(
      `probeTimeout (${settings.probe.timeoutSeconds} s) must be above the runbook's probe.healthTimeoutSeconds (${settings.probe.healthTimeoutSeconds} s): the probe would refuse its inputs`,
    );
  return {
    ...selection,
    optInTag: props.optInTag ?? DEFAULT_OPT_IN_TAG,
    fleetBrakeShare: share,
    logRetention: props.logRetention ?? RetentionDays.THREE_MONTHS,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    approvalTimeout: props.approvalTimeout ?? Duration.minutes(20),
    runbook,
    settings,
  };
}

/** Which alarms start the runbook: names and prefixes, or the selection tag; never every alarm. */
export function resolveAlarmSelection(props: ApiUnreachableRunbookProps): AlarmSelection {
  const selectionTag = props.alarmSelectionTag ?? null;
  if (selectionTag && !selectionTag.key) throw new Error("alarmSelectionTag needs a key");
  const alarmNames = (props.alarms ?? []).map((a) => a.alarmName);
  // Given alarms or a selection tag and no prefixes: no prefix filter (names and/or the tag select).
  const prefixes =
    props.alarmNamePrefixes ?? (selectionTag || alarmNames.length > 0 ? [] : ["runbook-autopilot-"]);
  if (prefixes.length === 0 && alarmNames.length === 0 && !selectionTag)
    throw new Error(
      "alarmNamePrefixes is empty and neither alarms nor alarmSelectionTag is given: every alarm in the account would start the runbook",
    );
  if (prefixes.some((p) => p.length === 0)) throw new Error("alarmNamePrefixes: empty prefix");
  return { selectionTag, prefixes, alarmNames };
}
