import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { client, env } from "./wiring.js";

/** SNS: notifications to the topic (its own module: see wiring.ts). */
export const snsClient = () => client("sns", () => new SNSClient({ region: env().AWS_REGION }));

export async function notify(subject: string, message: string): Promise<string[]> {
  await snsClient().send(
    new PublishCommand({ TopicArn: env().TOPIC_ARN, Subject: subject.slice(0, 100), Message: message }),
  );
  return [env().TOPIC_ARN];
}
