import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import type { AddressInfo, Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { SSMClient } from "@aws-sdk/client-ssm";
import { SsmTestServer, type SsmTestServerOptions } from "./ssm-server.js";

/**
 * Local AWS-compatible servers on ephemeral loopback ports, for end-to-end tests without an account:
 * s3rver (S3), dynalite (DynamoDB) and the SSM test server (Run Command over AWS JSON 1.1, running the
 * documents' scripts with bash on this machine, output uploaded to s3rver).
 */

const require = createRequire(import.meta.url);

/** Dummy credentials: the servers do not check signatures. */
export const LOCAL_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;
export const LOCAL_REGION = "us-east-1";

export interface LocalAwsOptions {
  /** Buckets to create in s3rver. @default ["runbook-artifacts"] */
  readonly buckets?: readonly string[];
  /** DynamoDB table (string partition key `pk`, TTL `expiresAt`) to create. @default "runbook-incidents" */
  readonly table?: string | null;
  /**
   * Keep DynamoDB data on disk (dynalite `path`) so `stopServer("dynamodb")` / `startServer` keep it,
   * like s3rver's folder. @default false (in memory)
   */
  readonly restartable?: boolean;
  /** Start the SSM server too. @default true */
  readonly ssm?: boolean | Omit<SsmTestServerOptions, "s3">;
}

export interface LocalAws {
  readonly s3Endpoint: string;
  readonly dynamoEndpoint: string;
  readonly ssmEndpoint: string | null;
  readonly buckets: readonly string[];
  readonly table: string | null;
  readonly ssm: SsmTestServer | null;
  /** SDK client config for any client (endpoint, region, dummy credentials). */
  clientConfig(service: "s3" | "dynamodb" | "ssm"): {
    endpoint: string;
    region: string;
    credentials: typeof LOCAL_CREDENTIALS;
    forcePathStyle?: boolean;
    requestChecksumCalculation?: "WHEN_REQUIRED";
    responseChecksumValidation?: "WHEN_REQUIRED";
  };
  s3(): S3Client;
  dynamodb(): DynamoDBClient;
  ssmClient(): SSMClient;
  /** Stops s3rver or dynalite in the middle of a run (fault tests); requests then fail to connect. */
  stopServer(service: "s3" | "dynamodb"): Promise<void>;
  /** Starts it again on the same port, with the data it had (dynalite: only with `restartable`). */
  startServer(service: "s3" | "dynamodb"): Promise<void>;
  /** Env vars that point the default SDK chain at these servers (for child processes). */
  env(): Record<string, string>;
  stop(): Promise<void>;
}

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}

export async function startLocalAws(options: LocalAwsOptions = {}): Promise<LocalAws> {
  const buckets = options.buckets ?? ["runbook-artifacts"];
  const table = options.table === undefined ? "runbook-incidents" : options.table;
  const dir = mkdtempSync(join(tmpdir(), "local-aws-"));

  const S3rver = require("s3rver") as new (o: Record<string, unknown>) => S3rverInstance;
  const newS3rver = (port: number) =>
    new S3rver({
      address: "127.0.0.1",
      port,
      silent: true,
      directory: join(dir, "s3"),
      configureBuckets: buckets.map((name) => ({ name })),
      vhostBuckets: false,
    });
  let s3rver: S3rverInstance | null = newS3rver(0);
  const s3Port = (await s3rver.run()).port;
  const s3Endpoint = `http://127.0.0.1:${s3Port}`;

  const dynalite = require("dynalite") as (o: Record<string, unknown>) => Server;
  const newDynalite = () =>
    dynalite({
      createTableMs: 0,
      deleteTableMs: 0,
      updateTableMs: 0,
      ...(options.restartable ? { path: join(dir, "dynamodb") } : {}),
    });
  const listen = (server: Server, port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
  const closeServer = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));
  let dynamo: Server | null = newDynalite();
  await listen(dynamo, 0);
  const dynamoPort = (dynamo.address() as AddressInfo).port;
  const dynamoEndpoint = `http://127.0.0.1:${dynamoPort}`;

  const base = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const s3Config = {
    ...base,
    endpoint: s3Endpoint,
    forcePathStyle: true,
    requestChecksumCalculation: "WHEN_REQUIRED" as const,
    responseChecksumValidation: "WHEN_REQUIRED" as const,
  };
  const s3 = new S3Client(s3Config);
  const ddb = new DynamoDBClient({ ...base, endpoint: dynamoEndpoint });

  if (table) {
    await ddb.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
    try {
      await ddb.send(
        new UpdateTimeToLiveCommand({
          TableName: table,
          TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
        }),
      );
    } catch {
      // dynalite does not implement TTL; the store checks expiry itself, so nothing depends on it
    }
  }

  let ssm: SsmTestServer | null = null;
  if (options.ssm !== false) {
    const ssmOptions = typeof options.ssm === "object" ? options.ssm : {};
    ssm = await SsmTestServer.start({ ...ssmOptions, s3 });
  }

  const configs = {
    s3: s3Config,
    dynamodb: { ...base, endpoint: dynamoEndpoint },
    ssm: { ...base, endpoint: ssm?.endpoint ?? "" },
  };
  return {
    s3Endpoint,
    dynamoEndpoint,
    ssmEndpoint: ssm?.endpoint ?? null,
    buckets,
    table,
    ssm,
    clientConfig: (service) => configs[service],
    s3: () => s3,
    dynamodb: () => ddb,
    ssmClient: () => new SSMClient(configs.ssm),
    env: () => ({
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_S3: s3Endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
      ...(ssm ? { AWS_ENDPOINT_URL_SSM: ssm.endpoint } : {}),
      AWS_EC2_METADATA_DISABLED: "true",
      // s3rver predates the SDK's default CRC32 checksums
      AWS_REQUEST_CHECKSUM_CALCULATION: "WHEN_REQUIRED",
      AWS_RESPONSE_CHECKSUM_VALIDATION: "WHEN_REQUIRED",
    }),
    stopServer: async (service) => {
      if (service === "s3") {
        await s3rver?.close();
        s3rver = null;
      } else if (dynamo) {
        // close() waits for keep-alive sockets: end them so the port is free at once
        (dynamo as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
        await closeServer(dynamo);
        dynamo = null;
      }
    },
    startServer: async (service) => {
      if (service === "s3") {
        s3rver ??= newS3rver(s3Port);
        await s3rver.run();
      } else if (!dynamo) {
        dynamo = newDynalite();
        await listen(dynamo, dynamoPort);
      }
    },
    stop: async () => {
      await ssm?.stop();
      s3.destroy();
      ddb.destroy();
      await s3rver?.close();
      if (dynamo) await closeServer(dynamo);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * aws-local-stepfunctions 3 declares node >= 22 but only needs `Promise.withResolvers` from it:
 * polyfill that on Node 20, then import it. `$$.Task.Token` is not generated locally: pass it in the
 * run options' `context` ({ Task: { Token } }).
 */
export async function loadLocalStepFunctions(): Promise<typeof import("aws-local-stepfunctions")> {
  const P = Promise as PromiseConstructor & { withResolvers?: unknown };
  if (typeof P.withResolvers !== "function") {
    Object.defineProperty(Promise, "withResolvers", {
      configurable: true,
      writable: true,
      value: function withResolvers<T>(this: PromiseConstructor) {
        let resolve!: (v: T) => void;
        let reject!: (e: unknown) => void;
        const promise = new this<T>((a, b) => {
          resolve = a;
          reject = b;
        });
        return { promise, resolve, reject };
      },
    });
  }
  return await import("aws-local-stepfunctions");
}
