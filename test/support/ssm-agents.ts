import { DescribeInstanceInformationCommand, type SSMClient } from "@aws-sdk/client-ssm";
import type { AwsClientStub } from "aws-sdk-client-mock";

/** An SSM mock answering DescribeInstanceInformation: every instance asked about is Online with `version`. */
export function onlineAgents(
  ssm: AwsClientStub<SSMClient>,
  version = "3.3.3050.0",
  overrides: Readonly<Record<string, string>> = {},
): void {
  ssm.on(DescribeInstanceInformationCommand).callsFake((input: { Filters?: { Values?: string[] }[] }) => ({
    InstanceInformationList: (input.Filters?.[0]?.Values ?? []).map((id) => ({
      InstanceId: id,
      PingStatus: "Online",
      AgentVersion: overrides[id] ?? version,
    })),
  }));
}
