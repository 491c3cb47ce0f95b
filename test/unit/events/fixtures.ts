/** Captured-shape CloudWatch alarm events for tests. */
export const eventBridgeEvent = {
  version: "0",
  id: "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
  "detail-type": "CloudWatch Alarm State Change",
  source: "aws.cloudwatch",
  account: "123456789012",
  time: "2024-05-02T17:04:40Z",
  region: "eu-west-1",
  resources: ["arn:aws:cloudwatch:eu-west-1:123456789012:alarm:runbook-api-unreachable"],
  detail: {
    alarmName: "runbook-api-unreachable",
    state: { value: "ALARM", reason: "Threshold Crossed", timestamp: "2024-05-02T17:04:40.989+0000" },
    previousState: { value: "OK", reason: "ok", timestamp: "2024-05-02T16:59:40.985+0000" },
    configuration: {
      description: "api down",
      metrics: [
        {
          id: "m1",
          metricStat: {
            metric: {
              namespace: "AWS/ApplicationELB",
              name: "UnHealthyHostCount",
              dimensions: {
                TargetGroup: "targetgroup/api-tg/0123456789abcdef",
                LoadBalancer: "app/api-lb/50dc6c495c0c9188",
              },
            },
            period: 60,
            stat: "Maximum",
          },
          returnData: true,
        },
      ],
    },
  },
};

export const snsMessage = {
  AlarmName: "runbook-api-unreachable",
  AlarmDescription: null,
  AWSAccountId: "123456789012",
  NewStateValue: "ALARM",
  NewStateReason: "Threshold Crossed",
  StateChangeTime: "2024-05-02T17:04:40.989+0000",
  Region: "EU (Ireland)",
  AlarmArn: "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:runbook-api-unreachable",
  OldStateValue: "OK",
  Trigger: {
    MetricName: "StatusCheckFailed",
    Namespace: "AWS/EC2",
    StatisticType: "Statistic",
    Statistic: "MAXIMUM",
    Unit: null,
    Dimensions: [{ value: "i-0123456789abcdef0", name: "InstanceId" }],
    Period: 60,
  },
};
