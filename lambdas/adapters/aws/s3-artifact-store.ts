import { createHash } from "node:crypto";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { ArtifactStore, StoredArtifact } from "../../ports/index.js";
import { awsErrorName } from "./errors.js";

export interface S3ArtifactStoreOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** Prepended to every key (`incidents/`). @default "" */
  readonly keyPrefix?: string;
}

/**
 * Artifacts as S3 objects. The sha256 is computed here, before upload, and stored as object metadata
 * (`x-amz-meta-sha256`) so the postmortem's hash can be checked against what S3 holds.
 * Encryption is the bucket's default (SSE-S3 or KMS, set by the stack).
 */
export class S3ArtifactStore implements ArtifactStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly keyPrefix: string;

  constructor(options: S3ArtifactStoreOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.keyPrefix = options.keyPrefix ?? "";
  }

  static fromRegion(region: string, bucket: string, keyPrefix?: string): S3ArtifactStore {
    return new S3ArtifactStore({
      client: new S3Client({ region }),
      bucket,
      ...(keyPrefix ? { keyPrefix } : {}),
    });
  }

  async put(key: string, body: string | Uint8Array, contentType: string): Promise<StoredArtifact> {
    const objectKey = this.objectKey(key);
    const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: objectKey,
        Body: bytes,
        ContentType: contentType,
        Metadata: { sha256 },
      }),
    );
    return { key, uri: `s3://${this.bucket}/${objectKey}`, sha256, bytes: bytes.length, contentType };
  }

  async get(key: string): Promise<string | null> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
      );
      return out.Body ? await out.Body.transformToString("utf8") : "";
    } catch (e) {
      const name = awsErrorName(e);
      if (name === "NoSuchKey" || name === "NotFound") return null;
      throw e;
    }
  }

  /** Reads any `s3://bucket/key` URI this store's client can reach (SSM's full output). */
  async getUri(uri: string): Promise<string | null> {
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
    if (!m) throw new Error(`not an s3:// URI: ${uri}`);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: m[1], Key: m[2] }));
      return out.Body ? await out.Body.transformToString("utf8") : "";
    } catch (e) {
      if (awsErrorName(e) === "NoSuchKey") return null;
      throw e;
    }
  }

  private objectKey(key: string): string {
    if (key.startsWith("/") || key.split("/").includes("..")) throw new Error(`invalid artifact key: ${key}`);
    return `${this.keyPrefix}${key}`;
  }
}
