import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { EC2Client } from "@aws-sdk/client-ec2";
import { AwsAlarmTags } from "../adapters/aws/alarm-tags.js";
import { AwsTargetResolver } from "../adapters/aws/target-resolver.js";
import { client, env } from "./wiring.js";
import { elbClient } from "./wiring-elb.js";

/**
 * Which instances an alarm means: EC2 and ELBv2 (instances, target groups) and CloudWatch (alarm tags).
 * Only ResolveTargets imports it (its own module: see wiring.ts).
 */
const ec2Client = () => client("ec2", () => new EC2Client({ region: env().AWS_REGION }));
const cloudWatchClient = () => client("cloudwatch", () => new CloudWatchClient({ region: env().AWS_REGION }));

export const targetResolver = () =>
  new AwsTargetResolver(ec2Client(), elbClient(), env().OPT_IN_TAG, env().MAX_TARGETS);
export const alarmTags = () => new AwsAlarmTags(cloudWatchClient());
