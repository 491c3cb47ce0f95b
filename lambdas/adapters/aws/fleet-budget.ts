import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { BudgetRequest } from "../../core/events/fleet-brake.js";
import { awsErrorName } from "./errors.js";

export type BudgetSpend =
  | { readonly ok: true }
  | { readonly ok: false; readonly refused: BudgetRequest; readonly reason: string };

/**
 * The fleet-wide budget of destructive mitigations in the incident table: one counter item per group,
 * class and window (`budget#<scope>#<class>#<windowStart>`, TTL a day after the window). Spending is a
 * conditional `ADD`: it succeeds only while `used + units <= max`, so two executions racing for the last
 * unit cannot both get it. All-or-nothing across an execution's requests: a refusal gives back what
 * this call already took.
 */
export class DynamoFleetBudget {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client);
  }

  static key(r: BudgetRequest, windowStart: string): string {
    return `budget#${r.scope}#${r.classId}#${windowStart}`;
  }

  async spend(
    requests: readonly BudgetRequest[],
    o: { readonly max: number; readonly window: { start: string; end: string }; readonly incidentId: string },
  ): Promise<BudgetSpend> {
    const taken: BudgetRequest[] = [];
    const ttl = Math.floor(Date.parse(o.window.end) / 1000) + 86_400;
    for (const r of requests) {
      if (r.units > o.max) {
        await this.giveBack(taken, o.window.start);
        return {
          ok: false,
          refused: r,
          reason: `${r.units} targets of ${r.classId} in ${r.scope} exceed the budget of ${o.max} per window`,
        };
      }
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: DynamoFleetBudget.key(r, o.window.start) },
            UpdateExpression: "ADD #used :n SET #expiresAt = :ttl, #last = :incident",
            ConditionExpression: "attribute_not_exists(#used) OR #used <= :room",
            ExpressionAttributeNames: { "#used": "used", "#expiresAt": "expiresAt", "#last": "lastIncident" },
            ExpressionAttributeValues: {
              ":n": r.units,
              ":room": o.max - r.units,
              ":ttl": ttl,
              ":incident": o.incidentId,
            },
          }),
        );
        taken.push(r);
      } catch (e) {
        if (awsErrorName(e) !== "ConditionalCheckFailedException") {
          await this.giveBack(taken, o.window.start);
          throw e;
        }
        await this.giveBack(taken, o.window.start);
        return {
          ok: false,
          refused: r,
          reason: `the budget of ${o.max} ${r.classId} mitigations in ${r.scope} for the window from ${o.window.start} is spent (${r.units} more asked)`,
        };
      }
    }
    return { ok: true };
  }

  private async giveBack(taken: readonly BudgetRequest[], windowStart: string): Promise<void> {
    for (const r of taken)
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: DynamoFleetBudget.key(r, windowStart) },
          UpdateExpression: "ADD #used :n",
          ExpressionAttributeNames: { "#used": "used" },
          ExpressionAttributeValues: { ":n": -r.units },
        }),
      );
  }
}
