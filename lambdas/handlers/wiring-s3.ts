import { S3Client } from "@aws-sdk/client-s3";
import { S3ArtifactStore } from "../adapters/aws/s3-artifact-store.js";
import { client, env } from "./wiring.js";

/** S3: the incident artifacts (its own module: see wiring.ts). */
export const s3Client = () => client("s3", () => new S3Client({ region: env().AWS_REGION }));

/** Artifacts live under `incidents/` in the bucket; SSM's own output under `ssm/`. */
export const artifactStore = () =>
  new S3ArtifactStore({ client: s3Client(), bucket: env().ARTIFACT_BUCKET, keyPrefix: "incidents/" });
