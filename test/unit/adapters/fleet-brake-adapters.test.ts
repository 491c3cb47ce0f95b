import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { DynamoFleetBudget } from "../../../lambdas/adapters/aws/fleet-budget.js";
import { readTargetGroupHealth } from "../../../lambdas/adapters/aws/target-group-health.js";

const ddb = mockClient(DynamoDBDocumentClient);
const elb = mockClient(ElasticLoadBalancingV2Client);
const window = { start: "2026-11-25T03:00:00.000Z", end: "2026-11-25T04:00:00.000Z" };
const TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/0123456789abcdef";

describe("DynamoFleetBudget (conditional ADD per group, class and window)", () => {
  beforeEach(() => ddb.reset());
  const budget = new DynamoFleetBudget(new DynamoDBClient({ region: "us-east-1" }), "incidents");

  it("spends with a condition that leaves no room to overspend", async () => {
    ddb.on(UpdateCommand).resolves({});
    const r = await budget.spend([{ scope: "fleet", classId: "ws-leak", units: 2 }], {
      max: 3,
      window,
      incidentId: "inc-1",
    });
    expect(r).toEqual({ ok: true });
    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      Key: { pk: "budget#fleet#ws-leak#2026-11-25T03:00:00.000Z" },
      ConditionExpression: "attribute_not_exists(#used) OR #used <= :room",
      ExpressionAttributeValues: { ":n": 2, ":room": 1, ":incident": "inc-1" },
    });
  });

  it("a spent budget refuses, and gives back what the same call already took", async () => {
    ddb
      .on(UpdateCommand)
      .resolvesOnce({})
      .rejectsOnce(new ConditionalCheckFailedException({ $metadata: {}, message: "failed" }))
      .resolves({});
    const r = await budget.spend(
      [
        { scope: "fleet", classId: "a", units: 1 },
        { scope: "fleet", classId: "b", units: 1 },
      ],
      { max: 3, window, incidentId: "inc-1" },
    );
    expect(r).toMatchObject({ ok: false, refused: { classId: "b" } });
    if (!r.ok) expect(r.reason).toMatch(/budget of 3 b mitigations in fleet .* is spent/);
    const calls = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(3);
    expect(calls[2]).toMatchObject({
      Key: { pk: "budget#fleet#a#2026-11-25T03:00:00.000Z" },
      ExpressionAttributeValues: { ":n": -1 },
    });
  });

  it("more targets than the whole budget: refused without writing", async () => {
    const r = await budget.spend([{ scope: "fleet", classId: "a", units: 4 }], {
      max: 3,
      window,
      incidentId: "inc-1",
    });
    expect(r.ok).toBe(false);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it("other DynamoDB errors are thrown (the state fails and escalates), never a go-ahead", async () => {
    ddb
      .on(UpdateCommand)
      .rejects(Object.assign(new Error("throttled"), { name: "ProvisionedThroughputExceededException" }));
    await expect(
      budget.spend([{ scope: "fleet", classId: "a", units: 1 }], { max: 3, window, incidentId: "inc-1" }),
    ).rejects.toThrow(/throttled/);
  });
});

describe("readTargetGroupHealth", () => {
  beforeEach(() => elb.reset());
  it("instance targets only; healthy means state healthy (draining and initial are not)", async () => {
    elb.on(DescribeTargetHealthCommand).resolves({
      TargetHealthDescriptions: [
        { Target: { Id: "i-0a" }, TargetHealth: { State: "healthy" } },
        { Target: { Id: "i-0b" }, TargetHealth: { State: "draining" } },
        { Target: { Id: "i-0c" }, TargetHealth: { State: "initial" } },
        { Target: { Id: "10.0.0.7" }, TargetHealth: { State: "healthy" } },
      ],
    });
    const groups = await readTargetGroupHealth(new ElasticLoadBalancingV2Client({ region: "us-east-1" }), [
      TG,
      TG,
    ]);
    expect(groups).toEqual([
      {
        targetGroupArn: TG,
        targets: [
          { id: "i-0a", healthy: true },
          { id: "i-0b", healthy: false },
          { id: "i-0c", healthy: false },
        ],
      },
    ]);
    expect(elb.commandCalls(DescribeTargetHealthCommand)).toHaveLength(1);
  });
});
