import {
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { TargetGroupHealth } from "../../core/events/fleet-brake.js";

/**
 * Each target group's health as ELB sees it now (DescribeTargetHealth), instance targets only; a target
 * is healthy only in state `healthy` (draining, initial, unused, unavailable and unhealthy are not).
 */
export async function readTargetGroupHealth(
  elb: ElasticLoadBalancingV2Client,
  targetGroupArns: readonly string[],
): Promise<TargetGroupHealth[]> {
  const out: TargetGroupHealth[] = [];
  for (const arn of [...new Set(targetGroupArns)]) {
    const res = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
    out.push({
      targetGroupArn: arn,
      targets: (res.TargetHealthDescriptions ?? [])
        .filter((d) => d.Target?.Id?.startsWith("i-"))
        .map((d) => ({ id: d.Target?.Id ?? "", healthy: d.TargetHealth?.State === "healthy" })),
    });
  }
  return out;
}
