import { DescribeInstanceInformationCommand, SSMClient } from "@aws-sdk/client-ssm";
import { SsmCommandRunner } from "../adapters/aws/ssm-command-runner.js";
import type { AgentInfo } from "../core/events/resolve-targets.js";
import type { Clock } from "../ports/index.js";
import { client, env, systemClock } from "./wiring.js";

/** SSM: the command runner (probe and action documents) and the agents' view of the instances (see wiring.ts). */
export const ssmClient = () => client("ssm", () => new SSMClient({ region: env().AWS_REGION }));

export function commandRunner(clock: Clock = systemClock): SsmCommandRunner {
  const e = env();
  return new SsmCommandRunner({
    client: ssmClient(),
    clock,
    documents: e.SSM_DOCUMENTS,
    outputBucket: e.ARTIFACT_BUCKET,
    outputKeyPrefix: e.SSM_OUTPUT_PREFIX,
    poll: {
      ...(e.SSM_APPEAR_WITHIN_SECONDS ? { appearWithinMs: e.SSM_APPEAR_WITHIN_SECONDS * 1000 } : {}),
      ...(e.SSM_GRACE_SECONDS ? { graceMs: e.SSM_GRACE_SECONDS * 1000 } : {}),
    },
  });
}

/** SSM's view of the instances: agent version and ping status (DescribeInstanceInformation, ≤ 50 ids per call). */
export async function agentInfo(ids: readonly string[]): Promise<AgentInfo[]> {
  const out: AgentInfo[] = [];
  for (let i = 0; i < ids.length; i += 50) {
    let token: string | undefined;
    do {
      const page = await ssmClient().send(
        new DescribeInstanceInformationCommand({
          Filters: [{ Key: "InstanceIds", Values: ids.slice(i, i + 50) }],
          NextToken: token,
        }),
      );
      for (const x of page?.InstanceInformationList ?? [])
        if (x.InstanceId)
          out.push({
            id: x.InstanceId,
            agentVersion: x.AgentVersion ?? null,
            pingStatus: x.PingStatus ?? null,
          });
      token = page?.NextToken;
    } while (token);
  }
  return out;
}
