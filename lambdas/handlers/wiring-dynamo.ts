import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoIncidentStore } from "../adapters/aws/dynamo-incident-store.js";
import { DynamoFleetBudget } from "../adapters/aws/fleet-budget.js";
import { client, env } from "./wiring.js";

/** DynamoDB: the incident table (records, locks, the fleet budget, approvals) (its own module: see wiring.ts). */
export const ddbClient = () => client("ddb", () => new DynamoDBClient({ region: env().AWS_REGION }));

export const incidentStore = () =>
  new DynamoIncidentStore({ client: ddbClient(), tableName: env().INCIDENT_TABLE });

export const fleetBudget = () => new DynamoFleetBudget(ddbClient(), env().INCIDENT_TABLE);
