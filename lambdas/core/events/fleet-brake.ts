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
