import {
  DescribeInstancesCommand,
  type DescribeInstancesCommandOutput,
  type EC2Client,
  type Filter,
} from "@aws-sdk/client-ec2";
import {
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  pickUnhealthyTargets,
  type ResolutionPlan,
  type TagFilter,
} from "../../core/events/resolve-targets.js";
import { awsErrorName } from "./errors.js";

export interface ResolvedTargets {
  /** Instances to probe: resolved, running and carrying the opt-in tag. */
  readonly targets: readonly string[];
  /** Instances in the group, the fleet-brake denominator. */
  readonly groupSize: number;
  readonly targetGroupArn: string | null;
  /** Instances found but left out, with why (no opt-in tag, not an instance, not running). */
  readonly skipped: readonly { readonly id: string; readonly reason: string }[];
  readonly strategy: ResolutionPlan["kind"];
  readonly note: string | null;
}

/** Performs a `ResolutionPlan` against EC2 and ELBv2. Only the opt-in tagged, running instances come back. */
export class AwsTargetResolver {
  constructor(
    private readonly ec2: EC2Client,
    private readonly elb: ElasticLoadBalancingV2Client,
    private readonly optInTag: TagFilter,
    /** Upper bound on targets per incident, to keep the state small and the blast radius bounded. */
    private readonly maxTargets = 50,
  ) {}

  async resolve(plan: ResolutionPlan): Promise<ResolvedTargets> {
    switch (plan.kind) {
      case "none":
        return {
          targets: [],
          groupSize: 0,
          targetGroupArn: null,
          skipped: [],
          strategy: "none",
          note: plan.reason,
        };
      case "instance": {
        const tagged = await this.taggedRunning(plan.instanceIds);
        return this.result("instance", plan.instanceIds, tagged, plan.instanceIds.length, null, []);
      }
      case "target-group": {
        const health = await this.elb.send(
          new DescribeTargetHealthCommand({ TargetGroupArn: plan.targetGroupArn }),
        );
        const picked = pickUnhealthyTargets(
          (health.TargetHealthDescriptions ?? []).map((d) => ({
            id: d.Target?.Id ?? "",
            state: d.TargetHealth?.State ?? "unknown",
          })),
        );
        const tagged =
          picked.unhealthy.length > 0 ? await this.taggedRunning(picked.unhealthy) : new Set<string>();
        return this.result(
          "target-group",
          picked.unhealthy,
          tagged,
          picked.groupSize,
          plan.targetGroupArn,
          picked.notInstances.map((id) => ({ id, reason: "not an EC2 instance target" })),
        );
      }
      case "tag": {
        const ids = await this.describe([
          { Name: `tag:${plan.tag.key}`, Values: [plan.tag.value] },
          ...this.optInFilters(),
        ]);
        return this.result("tag", ids, new Set(ids), ids.length, null, []);
      }
    }
  }

  private result(
    strategy: ResolutionPlan["kind"],
    candidates: readonly string[],
    tagged: ReadonlySet<string>,
    groupSize: number,
    targetGroupArn: string | null,
    skipped: { id: string; reason: string }[],
  ): ResolvedTargets {
    const targets: string[] = [];
    for (const id of candidates) {
      if (!tagged.has(id))
        skipped.push({
          id,
          reason: `not found, not running or no ${this.optInTag.key}=${this.optInTag.value} tag`,
        });
      else if (targets.length >= this.maxTargets)
        skipped.push({ id, reason: `over the ${this.maxTargets}-target cap` });
      else targets.push(id);
    }
    return { targets, groupSize, targetGroupArn, skipped, strategy, note: null };
  }

  private optInFilters(): Filter[] {
    return [
      { Name: `tag:${this.optInTag.key}`, Values: [this.optInTag.value] },
      { Name: "instance-state-name", Values: ["running"] },
    ];
  }

  /**
   * Which of these ids are running and opted in. An `instance-id` filter, not `InstanceIds`: an unknown
   * (terminated, mistyped) id then simply does not come back, instead of failing the whole lookup and
   * leaving the other, valid ids unprobed. EC2 takes up to 200 values per filter.
   */
  private async taggedRunning(ids: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < ids.length; i += 200) {
      const chunk = ids.slice(i, i + 200);
      for (const id of await this.describe([{ Name: "instance-id", Values: chunk }, ...this.optInFilters()]))
        found.add(id);
    }
    return found;
  }

  private async describe(filters: Filter[]): Promise<string[]> {
    const ids: string[] = [];
    let token: string | undefined;
    do {
      let out: DescribeInstancesCommandOutput;
      try {
        out = await this.ec2.send(
          new DescribeInstancesCommand({ Filters: filters, MaxResults: 1000, NextToken: token }),
        );
      } catch (e) {
        // defensive: filters do not raise it, but a malformed id must not crash resolution
        if (awsErrorName(e).startsWith("InvalidInstanceID")) return [];
        throw e;
      }
      for (const r of out.Reservations ?? [])
        for (const i of r.Instances ?? []) if (i.InstanceId) ids.push(i.InstanceId);
      token = out.NextToken;
    } while (token);
    return [...new Set(ids)];
  }
}
