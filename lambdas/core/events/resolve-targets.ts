import type { Dimension, NormalizedAlarm } from "./alarm-event.js";
import { INSTANCE_ID_PATTERN, parseArn } from "./alarm-event.js";

/**
 * Pure target resolution: from an alarm's dimensions, decide how to find the instances to look at.
 * The adapter then performs the lookup (DescribeTargetHealth / DescribeInstances) and calls
 * `pickUnhealthyTargets` on what it got back.
 */

export { INSTANCE_ID_PATTERN };

export interface TagFilter {
  readonly key: string;
  readonly value: string;
}

export type ResolutionPlan =
  | { readonly kind: "instance"; readonly instanceIds: readonly string[] }
  | {
      readonly kind: "target-group";
      readonly targetGroupArn: string;
      readonly loadBalancerDimension: string | null;
    }
  | { readonly kind: "tag"; readonly tag: TagFilter }
  | { readonly kind: "none"; readonly reason: string };

export interface ResolutionConfig {
  /** Tag used when the alarm names no instance or target group (null: no tag fallback). */
  readonly fallbackTag: TagFilter | null;
  /** Partition for ARNs built from dimensions. */
  readonly partition?: string;
}

export function dimensionValue(dimensions: readonly Dimension[], name: string): string | null {
  return dimensions.find((d) => d.name === name)?.value ?? null;
}

/**
 * `InstanceId` wins; then ALB `TargetGroup` (+ `LoadBalancer`); then the configured tag.
 * An `InstanceId` that is not an instance id is refused, never passed on.
 */
export function planTargetResolution(alarm: NormalizedAlarm, config: ResolutionConfig): ResolutionPlan {
  const instanceIds = alarm.dimensions.filter((d) => d.name === "InstanceId").map((d) => d.value);
  if (instanceIds.length > 0) {
    const valid = instanceIds.filter((id) => INSTANCE_ID_PATTERN.test(id));
    if (valid.length === 0) return { kind: "none", reason: `InstanceId dimension is not an instance id` };
    return { kind: "instance", instanceIds: [...new Set(valid)] };
  }
  const targetGroup = dimensionValue(alarm.dimensions, "TargetGroup");
  if (targetGroup !== null) {
    const arn = targetGroupArnOf(targetGroup, alarm, config.partition ?? "aws");
    if (arn === null)
      return { kind: "none", reason: "TargetGroup dimension without a resolvable region/account" };
    return {
      kind: "target-group",
      targetGroupArn: arn,
      loadBalancerDimension: dimensionValue(alarm.dimensions, "LoadBalancer"),
    };
  }
  if (config.fallbackTag !== null) return { kind: "tag", tag: config.fallbackTag };
  return {
    kind: "none",
    reason: "alarm has no InstanceId or TargetGroup dimension and no target tag is set",
  };
}

const TARGET_GROUP_DIMENSION = /^targetgroup\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{16}$/;

/** `targetgroup/my-tg/0123456789abcdef` → the target group ARN, with region/account from the alarm. */
export function targetGroupArnOf(
  dimension: string,
  alarm: NormalizedAlarm,
  partition: string,
): string | null {
  if (!TARGET_GROUP_DIMENSION.test(dimension)) return null;
  const fromArn = alarm.alarmArn ? parseArn(alarm.alarmArn) : null;
  const region = alarm.region ?? fromArn?.region ?? null;
  const account = alarm.account ?? fromArn?.account ?? null;
  if (!region || !account) return null;
  return `arn:${fromArn?.partition ?? partition}:elasticloadbalancing:${region}:${account}:${dimension}`;
}

export interface TargetHealthItem {
  readonly id: string;
  /** ELB target health state: initial, healthy, unhealthy, unused, draining, unavailable, unhealthy.draining. */
  readonly state: string;
}

export interface PickedTargets {
  readonly unhealthy: readonly string[];
  /** Registered instance targets, the fleet-brake denominator. */
  readonly groupSize: number;
  /** Targets that are not EC2 instances (ip / lambda target types): cannot be probed through SSM. */
  readonly notInstances: readonly string[];
}

const UNHEALTHY_STATES = new Set(["unhealthy", "unavailable", "unhealthy.draining"]);

export function pickUnhealthyTargets(items: readonly TargetHealthItem[]): PickedTargets {
  const instances = items.filter((i) => INSTANCE_ID_PATTERN.test(i.id));
  const notInstances = items.filter((i) => !INSTANCE_ID_PATTERN.test(i.id)).map((i) => i.id);
  const unhealthy = [...new Set(instances.filter((i) => UNHEALTHY_STATES.has(i.state)).map((i) => i.id))];
  const groupSize = new Set(instances.filter((i) => i.state !== "unused").map((i) => i.id)).size;
  return { unhealthy, groupSize, notInstances };
}

/**
 * Alarm names are selected by prefix or by exact name (alarms handed to the construct as objects);
 * with neither, every name matches (the alarm selection tag filters).
 */
export function alarmNameMatches(
  alarmName: string,
  prefixes: readonly string[],
  names: readonly string[] = [],
): boolean {
  if (prefixes.length === 0 && names.length === 0) return true;
  return names.includes(alarmName) || prefixes.some((p) => alarmName.startsWith(p));
}

/**
 * The ARN to read an alarm's tags with (alarm selection by tag): the ARN the event carried, else one
 * built from its region, account and name; null when neither is known.
 */
export function alarmArnOf(alarm: NormalizedAlarm, partition = "aws"): string | null {
  if (alarm.alarmArn) return alarm.alarmArn;
  if (!alarm.region || !alarm.account) return null;
  return `arn:${partition}:cloudwatch:${alarm.region}:${alarm.account}:alarm:${alarm.alarmName}`;
}

/** Whether the alarm's tags carry the selection tag (exact key and value). */
export function carriesTag(tags: readonly { key: string; value: string }[], tag: TagFilter): boolean {
  return tags.some((t) => t.key === tag.key && t.value === tag.value);
}

/**
 * SSM Agent 3.3.2746.0 introduced `interpolationType: ENV_VAR`, which the runbook's documents use: an
 * older agent leaves `SSM_*` unset and every probe ends in "invalid input".
 */
export const MIN_SSM_AGENT_VERSION = "3.3.2746.0";

/** Dotted numeric versions compared part by part (`3.3.10.0` > `3.3.9.0`); unparsable → false. */
export function agentVersionAtLeast(version: string, minimum = MIN_SSM_AGENT_VERSION): boolean {
  const parse = (v: string) => (/^\d+(\.\d+)*$/.test(v) ? v.split(".").map(Number) : null);
  const a = parse(version);
  const b = parse(minimum);
  if (!a || !b) return false;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}

export interface AgentInfo {
  readonly id: string;
  readonly agentVersion: string | null;
  readonly pingStatus: string | null;
}

/**
 * Keeps the targets whose SSM Agent can run the documents; the others are skipped with the reason
 * (not managed by SSM, agent offline, agent too old for ENV_VAR interpolation).
 */
export function screenAgents(
  targets: readonly string[],
  infos: readonly AgentInfo[],
): { targets: string[]; skipped: { id: string; reason: string }[] } {
  const byId = new Map(infos.map((i) => [i.id, i]));
  const kept: string[] = [];
  const skipped: { id: string; reason: string }[] = [];
  for (const id of targets) {
    const info = byId.get(id);
    if (!info)
      skipped.push({ id, reason: "not a managed instance: SSM Agent not registered with Systems Manager" });
    else if (info.pingStatus !== "Online")
      skipped.push({
        id,
        reason: `SSM Agent ${info.pingStatus ?? "status unknown"}: Run Command cannot reach it`,
      });
    else if (!agentVersionAtLeast(info.agentVersion ?? ""))
      skipped.push({
        id,
        reason: `SSM Agent ${info.agentVersion ?? "of unknown version"} is older than ${MIN_SSM_AGENT_VERSION} (needed for ENV_VAR parameters): update the agent`,
      });
    else kept.push(id);
  }
  return { targets: kept, skipped };
}
