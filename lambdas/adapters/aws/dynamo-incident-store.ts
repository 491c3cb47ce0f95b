import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { IncidentStore, LockResult } from "../../ports/index.js";
import { awsErrorName, RecordTooLargeError } from "./errors.js";

/** Attribute names of the single-table layout (`pk` string partition key, `expiresAt` TTL). */
export const INCIDENT_TABLE = {
  partitionKey: "pk",
  ttlAttribute: "expiresAt",
} as const;

export interface DynamoIncidentStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** How long dedupe markers live: longer than EventBridge's 24 h retry window. @default 30 days */
  readonly dedupeTtlDays?: number;
  /** How long incident records live. @default 400 days */
  readonly recordTtlDays?: number;
}

const DAY_MS = 86_400_000;
/** DynamoDB items are capped at 400 KB; leave room for keys and attributes. */
const MAX_RECORD_BYTES = 350_000;

/**
 * Incidents in one DynamoDB table:
 * - `dedupe#<alarm>#<time>`: written once with `attribute_not_exists(pk)`, so EventBridge retries and the
 *   SNS path never open a second incident for the same state change;
 * - `incident#<id>`: the execution record (JSON);
 * - `lock#<target>`: mitigation lock and cooldown, a conditional update that succeeds when free,
 *   expired (`until <= now`; TTL deletion is lazy, so expiry is checked, not trusted) or already ours.
 */
export class DynamoIncidentStore implements IncidentStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly dedupeTtlMs: number;
  private readonly recordTtlMs: number;

  constructor(options: DynamoIncidentStoreOptions) {
    this.doc = DynamoDBDocumentClient.from(options.client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.table = options.tableName;
    this.dedupeTtlMs = (options.dedupeTtlDays ?? 30) * DAY_MS;
    this.recordTtlMs = (options.recordTtlDays ?? 400) * DAY_MS;
  }

  static fromRegion(region: string, tableName: string): DynamoIncidentStore {
    return new DynamoIncidentStore({ client: new DynamoDBClient({ region }), tableName });
  }

  async open(
    dedupeKey: string,
    incidentId: string,
    at: string,
  ): Promise<{ created: boolean; incidentId: string }> {
    const pk = `dedupe#${dedupeKey}`;
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk, incidentId, openedAt: at, expiresAt: epochSeconds(at, this.dedupeTtlMs) },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      return { created: true, incidentId };
    } catch (e) {
      if (awsErrorName(e) !== "ConditionalCheckFailedException") throw e;
      const existing = await this.doc.send(
        new GetCommand({ TableName: this.table, Key: { pk }, ConsistentRead: true }),
      );
      const id = existing.Item?.incidentId;
      return { created: false, incidentId: typeof id === "string" ? id : incidentId };
    }
  }

  async save(incidentId: string, record: unknown): Promise<void> {
    const json = JSON.stringify(record);
    const bytes = Buffer.byteLength(json, "utf8");
    if (bytes > MAX_RECORD_BYTES) throw new RecordTooLargeError(incidentId, bytes);
    const now = new Date().toISOString();
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: `incident#${incidentId}`,
          record: json,
          updatedAt: now,
          expiresAt: epochSeconds(now, this.recordTtlMs),
        },
      }),
    );
  }

  async load(incidentId: string): Promise<unknown | null> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: { pk: `incident#${incidentId}` }, ConsistentRead: true }),
    );
    const json = out.Item?.record;
    return typeof json === "string" ? (JSON.parse(json) as unknown) : null;
  }

  async acquireTargetLock(target: string, owner: string, nowIso: string, ttlMs: number): Promise<LockResult> {
    const pk = `lock#${target}`;
    const until = new Date(Date.parse(nowIso) + ttlMs).toISOString();
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk },
          UpdateExpression: "SET #owner = :owner, #until = :until, expiresAt = :ttl",
          ConditionExpression: "attribute_not_exists(pk) OR #until <= :now OR #owner = :owner",
          ExpressionAttributeNames: { "#owner": "owner", "#until": "until" },
          ExpressionAttributeValues: {
            ":owner": owner,
            ":until": until,
            ":now": new Date(nowIso).toISOString(),
            ":ttl": epochSeconds(until, 0),
          },
        }),
      );
      return { acquired: true, heldBy: null, until: null };
    } catch (e) {
      if (awsErrorName(e) !== "ConditionalCheckFailedException") throw e;
      const held = await this.doc.send(
        new GetCommand({ TableName: this.table, Key: { pk }, ConsistentRead: true }),
      );
      const item = held.Item ?? {};
      return {
        acquired: false,
        heldBy: typeof item.owner === "string" ? item.owner : null,
        until: typeof item.until === "string" ? item.until : null,
      };
    }
  }

  async releaseTargetLock(target: string, owner: string): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: `lock#${target}` },
          ConditionExpression: "#owner = :owner",
          ExpressionAttributeNames: { "#owner": "owner" },
          ExpressionAttributeValues: { ":owner": owner },
        }),
      );
    } catch (e) {
      // someone else holds it now (ours expired): leave theirs alone
      if (awsErrorName(e) !== "ConditionalCheckFailedException") throw e;
    }
  }
}

function epochSeconds(iso: string, plusMs: number): number {
  return Math.floor((Date.parse(iso) + plusMs) / 1000);
}
