import { Duration } from "aws-cdk-lib";
import { Alarm, ComparisonOperator, type Metric, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import type { StateMachine } from "aws-cdk-lib/aws-stepfunctions";
import type { Construct } from "constructs";

export interface RunbookHealthAlarmsProps {
  readonly stateMachine: StateMachine;
  /** The dead-letter queues: `[alarm id, queue, what lands in it]`. */
  readonly deadLetterQueues: readonly (readonly [id: string, queue: IQueue, what: string])[];
  /** Where the alarms act. */
  readonly topic: ITopic;
}

/** The runbook's own health: failed or timed-out executions, anything in a DLQ → the topic. */
export function runbookHealthAlarms(scope: Construct, props: RunbookHealthAlarmsProps): Alarm[] {
  const healthAlarm = (id: string, metric: Metric, description: string) => {
    const a = new Alarm(scope, id, {
      metric,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `runbook-autopilot: ${description}`,
    });
    a.addAlarmAction(new SnsAction(props.topic));
    return a;
  };
  const period = Duration.minutes(5);
  return [
    healthAlarm(
      "ExecutionsFailed",
      props.stateMachine.metricFailed({ period, statistic: "Sum" }),
      "a runbook execution failed (see its escalation notice and the execution history)",
    ),
    healthAlarm(
      "ExecutionsTimedOut",
      props.stateMachine.metricTimedOut({ period, statistic: "Sum" }),
      "a runbook execution hit its time limit",
    ),
    ...props.deadLetterQueues.map(([id, queue, what]) =>
      healthAlarm(
        id,
        queue.metricApproximateNumberOfMessagesVisible({ period, statistic: "Maximum" }),
        `dead-letter queue not empty: ${what}`,
      ),
    ),
  ];
}
