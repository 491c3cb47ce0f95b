import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { readTargetGroupHealth } from "../adapters/aws/target-group-health.js";
import { client, env } from "./wiring.js";

/** ELBv2 (target groups and their health), for ResolveTargets and FleetBrake (its own module: see wiring.ts). */
export const elbClient = () =>
  client("elb", () => new ElasticLoadBalancingV2Client({ region: env().AWS_REGION }));
export const targetGroupHealth = (arns: readonly string[]) => readTargetGroupHealth(elbClient(), arns);
