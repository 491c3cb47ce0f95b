import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import { type ApprovalRequest, approvalRequestSchema } from "../../core/approval/requests.js";

/**
 * Approval requests in the incident table: one item `approval#<incidentId>` whose `requests` list grows
 * by one per rung asked (`list_append`, atomic, so the Map's targets may ask at once). TTL (`expiresAt`)
 * a day after the last request's deadline.
 */
export class DynamoApprovalRequests {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client);
  }

  static key(incidentId: string): string {
    return `approval#${incidentId}`;
  }

  async add(incidentId: string, request: ApprovalRequest): Promise<void> {
    const ttl = Math.floor(Date.parse(request.expiresAt) / 1000) + 86_400;
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: DynamoApprovalRequests.key(incidentId) },
        UpdateExpression:
          "SET #requests = list_append(if_not_exists(#requests, :empty), :one), #expiresAt = :ttl",
        ExpressionAttributeNames: { "#requests": "requests", "#expiresAt": "expiresAt" },
        ExpressionAttributeValues: { ":empty": [], ":one": [request], ":ttl": ttl },
      }),
    );
  }

  async list(incidentId: string): Promise<ApprovalRequest[]> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: DynamoApprovalRequests.key(incidentId) },
        ConsistentRead: true,
      }),
    );
    const parsed = z.array(approvalRequestSchema).safeParse(out.Item?.requests ?? []);
    if (!parsed.success)
      throw new Error(
        `approval requests of ${incidentId} in table ${this.tableName} are not in the expected form: ${parsed.error.message}`,
      );
    return parsed.data;
  }
}
