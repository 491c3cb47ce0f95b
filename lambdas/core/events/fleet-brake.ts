/**
 * The fleet brake: when one failure class hits more than a share of a group's instances at once,
 * the cause is probably not on the hosts (a bad deploy, a dependency), and restarting them one by one
 * would take the whole fleet down. Stop mitigating and escalate. Pure.
 */

export interface TargetDiagnosis {
  readonly target: string;
  /** Root-cause class id; null when nothing matched or the probe failed. */
  readonly classId: string | null;
}

export interface FleetBrakeInput {
  readonly diagnoses: readonly TargetDiagnosis[];
  /** Instances in the group (target group or tag). At least the number of diagnosed targets. */
  readonly groupSize: number;
  /** Share in (0, 1]: brake when affected / groupSize is above it. */
  readonly maxShare: number;
}

export interface FleetBrakeDecision {
  readonly brake: boolean;
  readonly classId: string | null;
  readonly affected: number;
  readonly groupSize: number;
  readonly reason: string;
}

/**
 * Brakes when at least two instances share a class and their share of the group exceeds `maxShare`.
 * A lone instance never brakes (there is no fleet to protect).
 */
export function decideFleetBrake(input: FleetBrakeInput): FleetBrakeDecision {
  const groupSize = Math.max(input.groupSize, input.diagnoses.length, 1);
  const counts = new Map<string, Set<string>>();
  for (const d of input.diagnoses) {
    if (d.classId === null) continue;
    const set = counts.get(d.classId) ?? new Set<string>();
    set.add(d.target);
    counts.set(d.classId, set);
  }
  let worst: { classId: string; affected: number } | null = null;
  for (const [classId, targets] of [...counts.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    if (worst === null || targets.size > worst.affected) worst = { classId, affected: targets.size };
  }
  if (worst === null) {
    return { brake: false, classId: null, affected: 0, groupSize, reason: "no target has a diagnosed class" };
  }
  const share = worst.affected / groupSize;
  const brake = worst.affected >= 2 && share > input.maxShare;
  const pct = (n: number) => `${Math.round(n * 100)}%`;
  return {
    brake,
    classId: worst.classId,
    affected: worst.affected,
    groupSize,
    reason: brake
      ? `${worst.affected} of ${groupSize} instances (${pct(share)}) show ${worst.classId}, above the ${pct(input.maxShare)} brake: escalating instead of mitigating`
      : `${worst.affected} of ${groupSize} instances (${pct(share)}) show ${worst.classId}, within the ${pct(input.maxShare)} brake`,
  };
}

/** One target group's health as ELB sees it (DescribeTargetHealth), instance targets only. */
export interface TargetGroupHealth {
  readonly targetGroupArn: string;
  readonly targets: readonly { readonly id: string; readonly healthy: boolean }[];
}

export interface FleetBrakeWithHealthInput extends FleetBrakeInput {
  /** The target groups the diagnosed targets belong to (the alarm's, or the configured fleet groups). */
  readonly targetGroups: readonly TargetGroupHealth[];
  /** Healthy targets that must stay untouched in each group. @default 1 */
  readonly minHealthy?: number;
}

/**
 * The brake with the load balancer's view (issue 10 points 6 and 9), before any mitigation:
 * - the share is counted against the whole target group, not against the (capped) targets probed, so
 *   200 instances with 30 unhealthy brake at a 10 % share, and a per-instance alarm still sees the fleet;
 * - mitigating never takes the last healthy targets: if a target to act on is healthy in its group and
 *   acting on it would leave fewer than `minHealthy` healthy targets there, brake;
 * - otherwise the class-share rule of `decideFleetBrake` on the group's size.
 * Pure: the health comes in as data.
 */
export function decideFleetBrakeWithHealth(input: FleetBrakeWithHealthInput): FleetBrakeDecision {
  const minHealthy = input.minHealthy ?? 1;
  const acting = new Set(input.diagnoses.filter((d) => d.classId !== null).map((d) => d.target));
  const relevant = input.targetGroups.filter((g) => g.targets.some((t) => acting.has(t.id)));
  const pct = (n: number) => `${Math.round(n * 100)}%`;
  for (const g of relevant) {
    const healthy = g.targets.filter((t) => t.healthy);
    const healthyActing = healthy.filter((t) => acting.has(t.id));
    const left = healthy.length - healthyActing.length;
    if (healthyActing.length > 0 && left < minHealthy) {
      return {
        brake: true,
        classId: null,
        affected: healthyActing.length,
        groupSize: g.targets.length,
        reason: `acting on ${healthyActing.map((t) => t.id).join(", ")} would leave ${left} healthy of ${g.targets.length} targets in ${shortGroup(g.targetGroupArn)} (at least ${minHealthy} must stay): escalating instead of mitigating`,
      };
    }
    const unhealthy = g.targets.length - healthy.length;
    const share = g.targets.length ? unhealthy / g.targets.length : 0;
    if (unhealthy >= 2 && share > input.maxShare) {
      return {
        brake: true,
        classId: null,
        affected: unhealthy,
        groupSize: g.targets.length,
        reason: `${unhealthy} of ${g.targets.length} targets (${pct(share)}) are unhealthy in ${shortGroup(g.targetGroupArn)}, above the ${pct(input.maxShare)} brake: a fleet-wide cause, escalating instead of mitigating`,
      };
    }
  }
  const groupSize = Math.max(input.groupSize, ...relevant.map((g) => g.targets.length));
  return decideFleetBrake({ ...input, groupSize });
}

const shortGroup = (arn: string) => arn.split(":").pop() ?? arn;

/** The budget's scope and window: at most `max` destructive mitigations per group and class per window. */
export interface BudgetRequest {
  /** `targetgroup/<name>/<id>`, or `fleet` when the targets are in no known group. */
  readonly scope: string;
  readonly classId: string;
  readonly units: number;
}

/** The budget requests of one execution: one per (group, class), counting the targets to act on. */
export function budgetRequests(
  diagnoses: readonly TargetDiagnosis[],
  groups: readonly TargetGroupHealth[],
): BudgetRequest[] {
  const out = new Map<string, BudgetRequest>();
  for (const d of diagnoses) {
    if (d.classId === null) continue;
    const g = groups.find((x) => x.targets.some((t) => t.id === d.target));
    const scope = g ? shortGroup(g.targetGroupArn) : "fleet";
    const k = `${scope}#${d.classId}`;
    const prev = out.get(k);
    out.set(k, { scope, classId: d.classId, units: (prev?.units ?? 0) + 1 });
  }
  return [...out.values()].sort((a, b) => `${a.scope}#${a.classId}`.localeCompare(`${b.scope}#${b.classId}`));
}

/** The window an instant falls in (`windowSeconds` wide, aligned on the epoch). */
export function budgetWindow(at: Date, windowSeconds: number): { start: string; end: string } {
  const w = windowSeconds * 1000;
  const start = Math.floor(at.getTime() / w) * w;
  return { start: new Date(start).toISOString(), end: new Date(start + w).toISOString() };
}
