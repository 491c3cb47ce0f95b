import { type CloudWatchClient, ListTagsForResourceCommand } from "@aws-sdk/client-cloudwatch";
import { AwsAdapterError, awsErrorName } from "./errors.js";

/**
 * The tags of a CloudWatch alarm were unreadable (AccessDenied, alarm deleted, ...). Not "not selected":
 * the runbook cannot tell, so the execution escalates instead of silently skipping a real alarm.
 */
export class AlarmTagsUnavailableError extends AwsAdapterError {
  constructor(alarmArn: string, cause: unknown) {
    const name = awsErrorName(cause);
    const hint =
      name === "AccessDenied" || name === "AccessDeniedException"
        ? " (ResolveTargets' role needs cloudwatch:ListTagsForResource on the alarm)"
        : "";
    super(
      `cannot read the tags of alarm ${alarmArn} to check the alarm selection tag: ${name}: ${
        cause instanceof Error ? cause.message : String(cause)
      }${hint}`,
      { cause },
    );
    this.name = "AlarmTagsUnavailableError";
  }
}

/** Reads a CloudWatch alarm's tags (alarm selection by tag: EventBridge alarm events carry none). */
export class AwsAlarmTags {
  constructor(private readonly client: CloudWatchClient) {}

  async tagsOf(alarmArn: string): Promise<{ key: string; value: string }[]> {
    try {
      const out = await this.client.send(new ListTagsForResourceCommand({ ResourceARN: alarmArn }));
      return (out.Tags ?? []).map((t) => ({ key: t.Key ?? "", value: t.Value ?? "" }));
    } catch (e) {
      throw new AlarmTagsUnavailableError(alarmArn, e);
    }
  }
}
