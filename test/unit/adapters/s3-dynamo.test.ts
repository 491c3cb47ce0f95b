import { createHash } from "node:crypto";
import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { DynamoIncidentStore } from "../../../lambdas/adapters/aws/dynamo-incident-store.js";
import { S3ArtifactStore } from "../../../lambdas/adapters/aws/s3-artifact-store.js";

const s3 = mockClient(S3Client);
const ddb = mockClient(DynamoDBDocumentClient);
const conditionFailed = () =>
  new ConditionalCheckFailedException({ $metadata: {}, message: "The conditional request failed" });

/** The part of the SDK's streaming body the store reads. */
const streamOf = (text: string) =>
  ({ transformToString: async () => text }) as unknown as NonNullable<GetObjectCommandOutput["Body"]>;

describe("S3ArtifactStore", () => {
  beforeEach(() => s3.reset());
  const store = new S3ArtifactStore({
    client: new S3Client({ region: "eu-west-1" }),
    bucket: "b",
    keyPrefix: "incidents/",
  });

  it("computes sha256 locally and stores it as metadata", async () => {
    s3.on(PutObjectCommand).resolves({});
    const stored = await store.put("inc-1/evidence.json", "{}", "application/json");
    const sha = createHash("sha256").update("{}").digest("hex");
    expect(stored).toEqual({
      key: "inc-1/evidence.json",
      uri: "s3://b/incidents/inc-1/evidence.json",
      sha256: sha,
      bytes: 2,
      contentType: "application/json",
    });
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({
      Bucket: "b",
      Key: "incidents/inc-1/evidence.json",
      Metadata: { sha256: sha },
    });
  });

  it("reads back, and returns null for a missing key", async () => {
    s3.on(GetObjectCommand, { Key: "incidents/x" }).resolves({ Body: streamOf("hello") });
    s3.on(GetObjectCommand, { Key: "incidents/missing" }).rejects(
      new NoSuchKey({ $metadata: {}, message: "no" }),
    );
    expect(await store.get("x")).toBe("hello");
    expect(await store.get("missing")).toBeNull();
  });

  it("refuses keys that climb out of the prefix", async () => {
    await expect(store.put("../other", "x", "text/plain")).rejects.toThrow(/invalid artifact key/);
  });
});

describe("DynamoIncidentStore", () => {
  beforeEach(() => ddb.reset());
  const store = new DynamoIncidentStore({
    client: new DynamoDBClient({ region: "eu-west-1" }),
    tableName: "t",
  });

  it("opens once per dedupe key with attribute_not_exists", async () => {
    ddb.on(PutCommand).resolves({});
    expect(await store.open("alarm#2024-05-02T17:04:40.989Z", "inc-1", "2024-05-02T17:04:41.000Z")).toEqual({
      created: true,
      incidentId: "inc-1",
    });
    const put = ddb.commandCalls(PutCommand)[0]?.args[0].input;
    expect(put?.ConditionExpression).toBe("attribute_not_exists(pk)");
    expect(put?.Item).toMatchObject({ pk: "dedupe#alarm#2024-05-02T17:04:40.989Z", incidentId: "inc-1" });
    expect(put?.Item?.expiresAt).toBe(
      Math.floor(Date.parse("2024-05-02T17:04:41.000Z") / 1000) + 30 * 86_400,
    );
  });

  it("returns the existing incident on a duplicate (EventBridge retry)", async () => {
    ddb.on(PutCommand).rejects(conditionFailed());
    ddb.on(GetCommand).resolves({ Item: { pk: "dedupe#k", incidentId: "inc-first" } });
    expect(await store.open("k", "inc-second", "2024-05-02T17:04:41.000Z")).toEqual({
      created: false,
      incidentId: "inc-first",
    });
  });

  it("acquires a free or expired lock with a conditional update and TTL", async () => {
    ddb.on(UpdateCommand).resolves({});
    const r = await store.acquireTargetLock("i-1", "inc-1", "2024-05-02T17:05:00.000Z", 1_800_000);
    expect(r).toEqual({ acquired: true, heldBy: null, until: null });
    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.ConditionExpression).toBe("attribute_not_exists(pk) OR #until <= :now OR #owner = :owner");
    expect(input?.ExpressionAttributeValues).toMatchObject({
      ":until": "2024-05-02T17:35:00.000Z",
      ":ttl": Date.parse("2024-05-02T17:35:00.000Z") / 1000,
    });
  });

  it("reports who holds a lock in cooldown", async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());
    ddb
      .on(GetCommand)
      .resolves({ Item: { pk: "lock#i-1", owner: "inc-0", until: "2024-05-02T17:20:00.000Z" } });
    expect(await store.acquireTargetLock("i-1", "inc-1", "2024-05-02T17:05:00.000Z", 60_000)).toEqual({
      acquired: false,
      heldBy: "inc-0",
      until: "2024-05-02T17:20:00.000Z",
    });
  });

  it("releases only its own lock", async () => {
    ddb.on(DeleteCommand).rejects(conditionFailed());
    await expect(store.releaseTargetLock("i-1", "inc-1")).resolves.toBeUndefined();
    expect(ddb.commandCalls(DeleteCommand)[0]?.args[0].input.ConditionExpression).toBe("#owner = :owner");
  });

  it("saves and loads the record as JSON, refusing oversize records", async () => {
    ddb.on(PutCommand).resolves({});
    await store.save("inc-1", { a: 1 });
    const item = ddb.commandCalls(PutCommand)[0]?.args[0].input.Item;
    expect(item).toMatchObject({ pk: "incident#inc-1", record: '{"a":1}' });
    ddb.on(GetCommand).resolves({ Item: item });
    expect(await store.load("inc-1")).toEqual({ a: 1 });
    await expect(store.save("big", { s: "x".repeat(400_000) })).rejects.toThrow(
      /over the DynamoDB item budget/,
    );
  });

  it("propagates unexpected errors", async () => {
    ddb.on(PutCommand).rejects(new Error("boom"));
    await expect(store.open("k", "i", "2024-05-02T17:04:41.000Z")).rejects.toThrow("boom");
  });
});
