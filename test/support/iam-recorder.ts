import { AsyncLocalStorage } from "node:async_hooks";
import { ACCOUNT, type IamCall, REGION } from "./template-iam.js";

/**
 * Records every AWS API call the real handlers make in a local end-to-end run, with the role making
 * it: each handler runs inside `as(roleArn, via, fn)` (AsyncLocalStorage), and a middleware added to
 * every SDK client the handlers create (`clientObservers` in lambdas/handlers/wiring.ts) turns each
 * command into the IAM action and resource AWS authorizes. SNS has no local server: Publish is recorded
 * and answered here; SFN StartExecution is recorded and handed to `onStartExecution` (the test runs
 * the local state machine).
 */

interface Actor {
  readonly principal: string;
  readonly via: string;
}
type Middleware = (
  next: (args: { input: Record<string, unknown> }) => Promise<unknown>,
  context: { clientName?: string; commandName?: string },
) => (args: { input: Record<string, unknown> }) => Promise<unknown>;
interface ObservableClient {
  middlewareStack: { add(m: Middleware, o: { step: string; name: string }): void };
}

export class IamRecorder {
  readonly calls: IamCall[] = [];
  /** Calls made outside any actor: a handler used a client outside `as` (a test bug, reported). */
  readonly orphans: string[] = [];
  readonly published: { topicArn: string; subject: string; message: string }[] = [];
  private readonly store = new AsyncLocalStorage<Actor>();
  /** Answers for services with no local server (`EC2Client.DescribeInstancesCommand` → output). */
  answers: Record<string, (input: Record<string, unknown>) => unknown> = {};
  onStartExecution:
    | ((input: { stateMachineArn: string; name: string; input: string }) => Promise<void>)
    | null = null;

  constructor(private readonly optInTag: { key: string; value: string }) {}

  as<T>(principal: string, via: string, fn: () => Promise<T>): Promise<T> {
    return this.store.run({ principal, via }, fn);
  }

  record(call: IamCall): void {
    this.calls.push(call);
  }

  /** The observer to push into `clientObservers`. */
  readonly observe = (client: object): void => {
    (client as ObservableClient).middlewareStack.add(
      (next, context) => async (args) => {
        const actor = this.store.getStore();
        const command = `${context.clientName}.${context.commandName}`;
        if (!actor) {
          this.orphans.push(command);
          return next(args);
        }
        for (const c of this.toIam(context.clientName ?? "", context.commandName ?? "", args.input))
          this.calls.push({ ...c, principal: actor.principal, via: actor.via });
        const answer = this.answers[command];
        if (answer) return { output: { ...(answer(args.input) as object), $metadata: {} }, response: {} };
        if (context.clientName === "SNSClient" && context.commandName === "PublishCommand") {
          this.published.push({
            topicArn: String(args.input.TopicArn),
            subject: String(args.input.Subject ?? ""),
            message: String(args.input.Message ?? ""),
          });
          return { output: { MessageId: `local-${this.published.length}`, $metadata: {} }, response: {} };
        }
        if (context.clientName === "SFNClient" && context.commandName === "StartExecutionCommand") {
          const input = args.input as { stateMachineArn: string; name: string; input: string };
          await this.onStartExecution?.(input);
          return {
            output: { executionArn: `${input.stateMachineArn}:${input.name}`, $metadata: {} },
            response: {},
          };
        }
        return next(args);
      },
      { step: "initialize", name: "iamRecorder" },
    );
  };

  /** One SDK command → the (action, resource) pairs IAM authorizes for it. */
  private toIam(
    client: string,
    command: string,
    input: Record<string, unknown>,
  ): Omit<IamCall, "principal" | "via">[] {
    const op = command.replace(/Command$/, "");
    const s = (k: string) => String(input[k] ?? "");
    switch (client) {
      case "S3Client": {
        const object = `arn:aws:s3:::${s("Bucket")}/${s("Key")}`;
        if (op === "PutObject") return [{ action: "s3:PutObject", resource: object }];
        if (op === "GetObject" || op === "HeadObject") return [{ action: "s3:GetObject", resource: object }];
        if (op === "ListObjectsV2")
          return [{ action: "s3:ListBucket", resource: `arn:aws:s3:::${s("Bucket")}` }];
        if (op === "DeleteObject") return [{ action: "s3:DeleteObject", resource: object }];
        break;
      }
      case "DynamoDBClient": {
        const pk = (input.Key as { pk?: { S?: string } } | undefined)?.pk?.S;
        return [
          {
            action: `dynamodb:${op}`,
            resource: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${s("TableName")}`,
            ...(pk ? { context: { "dynamodb:LeadingKeys": [pk] } } : {}),
          },
        ];
      }
      case "SSMClient":
        if (op === "SendCommand") {
          const instances = (input.InstanceIds ?? []) as string[];
          return [
            {
              action: "ssm:SendCommand",
              resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:document/${s("DocumentName")}`,
            },
            ...instances.map((i) => ({
              action: "ssm:SendCommand",
              resource: `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${i}`,
              // the instance carries the opt-in tag: ResolveTargets only returns such instances
              context: { [`ssm:resourceTag/${this.optInTag.key}`]: this.optInTag.value },
            })),
          ];
        }
        return [{ action: `ssm:${op}`, resource: "*" }];
      case "SNSClient":
        return [{ action: `sns:${op}`, resource: s("TopicArn") }];
      case "SFNClient":
        if (op === "StartExecution")
          return [{ action: "states:StartExecution", resource: s("stateMachineArn") }];
        return [{ action: `states:${op}`, resource: "*" }];
      case "STSClient":
        return [{ action: `sts:${op}`, resource: "*" }];
      case "EC2Client":
        return [{ action: `ec2:${op}`, resource: "*" }];
      case "ElasticLoadBalancingV2Client":
        return [{ action: `elasticloadbalancing:${op}`, resource: "*" }];
      case "CloudWatchClient":
        return [{ action: `cloudwatch:${op}`, resource: s("ResourceARN") || "*" }];
    }
    throw new Error(`iam-recorder: no IAM mapping for ${client}.${command}: add one`);
  }
}
