import { SFNClient } from "@aws-sdk/client-sfn";
import { client, env } from "./wiring.js";

/** Step Functions, for the SNS ingest that starts executions (its own module: see wiring.ts). */
export const sfnClient = () => client("sfn", () => new SFNClient({ region: env().AWS_REGION }));
