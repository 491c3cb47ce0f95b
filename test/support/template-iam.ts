import { runSimulation } from "@cloud-copilot/iam-simulate";

/**
 * The synthesized template read as IAM would read it: every intrinsic resolved to concrete names and
 * ARNs in one fake account/region, the identity policies of each role (inline, AWS::IAM::Policy,
 * customer and known AWS managed policies), and the resource policies (topic, queue, bucket, key,
 * Lambda permissions). `evaluate` runs one API call through @cloud-copilot/iam-simulate, with the
 * implicit KMS calls the service makes for the caller (encrypted SNS topic, S3 bucket, SQS queue,
 * DynamoDB table) derived from the template's own encryption settings.
 */

export const ACCOUNT = "123456789012";
export const REGION = "us-east-1";

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Properties?: Json;
}
export interface PolicyDocument {
  Version?: string;
  Statement: Json[];
}

/** A call as a role (or an AWS service on the stack's behalf) makes it. */
export interface IamCall {
  /** A role ARN of the stack (`arn:aws:iam::<account>:role/<logicalId>`) or a service principal. */
  readonly principal: string;
  /** `service:Action`, e.g. `s3:PutObject`. */
  readonly action: string;
  /** The resource ARN, or `*` for actions without resource-level permissions. */
  readonly resource: string;
  readonly context?: Record<string, string | string[]>;
  /** Why the call was made (the state or handler that made it). */
  readonly via: string;
}

export interface IamVerdict {
  readonly call: IamCall;
  readonly allowed: boolean;
  readonly result: string;
}

/** AWS managed policies the template attaches, as AWS publishes them (only what the calls touch). */
const AWS_MANAGED: Record<string, PolicyDocument> = {
  "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: "*",
      },
    ],
  },
};

/**
 * The key policy AWS gives its managed keys (aws/dynamodb for the table's AWS_MANAGED encryption,
 * aws/s3, aws/sqs). Their ARNs here are `key/aws-managed-<service>` (the simulator wants a key ARN).
 */
const awsManagedKeyPolicy = (service: string): PolicyDocument => ({
  Version: "2012-10-17",
  Statement: [
    {
      Sid: `Allow access through ${service} for all principals in the account that are authorized`,
      Effect: "Allow",
      Principal: { AWS: "*" },
      Action: [
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
        "kms:CreateGrant",
        "kms:DescribeKey",
      ],
      Resource: "*",
      Condition: {
        StringEquals: {
          "kms:CallerAccount": ACCOUNT,
          "kms:ViaService": `${service}.${REGION}.amazonaws.com`,
        },
      },
    },
  ],
});

export class TemplateIam {
  readonly resources: Record<string, Resource>;

  constructor(template: Json) {
    this.resources = (template.Resources ?? {}) as Record<string, Resource>;
  }

  private typeOf(id: string): string {
    const r = this.resources[id];
    if (!r) throw new Error(`template has no resource ${id}`);
    return r.Type;
  }

  /** Names are the logical ids (lowercased for buckets): stable and unique in one template. */
  ref(id: string): string {
    switch (this.typeOf(id)) {
      case "AWS::S3::Bucket":
        return id.toLowerCase();
      case "AWS::SNS::Topic":
        return `arn:aws:sns:${REGION}:${ACCOUNT}:${id}`;
      case "AWS::SQS::Queue":
        return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${id}`;
      case "AWS::StepFunctions::StateMachine":
        return `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${id}`;
      case "AWS::IAM::ManagedPolicy":
        return `arn:aws:iam::${ACCOUNT}:policy/${id}`;
      case "AWS::SSM::Document": {
        const name = this.resources[id]?.Properties?.Name;
        return typeof name === "string" ? name : id;
      }
      case "AWS::KMS::Key":
        return id;
      default:
        return id;
    }
  }

  arn(id: string): string {
    switch (this.typeOf(id)) {
      case "AWS::S3::Bucket":
        return `arn:aws:s3:::${this.ref(id)}`;
      case "AWS::DynamoDB::Table":
        return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${id}`;
      case "AWS::Lambda::Function":
        return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${id}`;
      case "AWS::IAM::Role":
        return `arn:aws:iam::${ACCOUNT}:role/${id}`;
      case "AWS::KMS::Key":
        return `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`;
      case "AWS::SQS::Queue":
        return `arn:aws:sqs:${REGION}:${ACCOUNT}:${id}`;
      case "AWS::Events::Rule":
        return `arn:aws:events:${REGION}:${ACCOUNT}:rule/${id}`;
      case "AWS::Logs::LogGroup":
        return `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${id}:*`;
      case "AWS::SNS::Topic":
      case "AWS::StepFunctions::StateMachine":
      case "AWS::IAM::ManagedPolicy":
        return this.ref(id);
      default:
        throw new Error(`no ARN rule for ${id} (${this.typeOf(id)})`);
    }
  }

  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== "object") return value;
    const o = value as Json;
    const keys = Object.keys(o);
    if (keys.length === 1) {
      if ("Ref" in o) {
        const r = String(o.Ref);
        if (r === "AWS::Partition") return "aws";
        if (r === "AWS::Region") return REGION;
        if (r === "AWS::AccountId") return ACCOUNT;
        if (r === "AWS::URLSuffix") return "amazonaws.com";
        return this.ref(r);
      }
      if ("Fn::GetAtt" in o) {
        const [id, attr] = o["Fn::GetAtt"] as [string, string];
        if (attr === "Arn") return this.arn(id);
        if (attr === "QueueName" || attr === "Name" || attr === "TopicName") return id;
        throw new Error(`unsupported Fn::GetAtt ${id}.${attr}`);
      }
      if ("Fn::Join" in o) {
        const [sep, parts] = o["Fn::Join"] as [string, unknown[]];
        return parts.map((p) => String(this.resolve(p))).join(sep);
      }
      if ("Fn::Select" in o) {
        const [i, list] = o["Fn::Select"] as [number, unknown];
        return (this.resolve(list) as unknown[])[Number(i)];
      }
      if ("Fn::Split" in o) {
        const [sep, s] = o["Fn::Split"] as [string, unknown];
        return String(this.resolve(s)).split(sep);
      }
    }
    return Object.fromEntries(keys.map((k) => [k, this.resolve(o[k])]));
  }

  ofType(type: string): [string, Resource][] {
    return Object.entries(this.resources).filter(([, r]) => r.Type === type);
  }

  /** The role a function runs as. */
  roleOfFunction(functionId: string): string {
    return String(this.resolve(this.resources[functionId]?.Properties?.Role));
  }

  roleOfStateMachine(): string {
    const [sm] = this.ofType("AWS::StepFunctions::StateMachine");
    return String(this.resolve(sm?.[1].Properties?.RoleArn));
  }

  /** The identity policies of a role: inline, AWS::IAM::Policy on it, and managed (ours and AWS's). */
  identityPolicies(roleArn: string): { name: string; policy: PolicyDocument }[] {
    const roleId = roleArn.split("/").pop() ?? "";
    const out: { name: string; policy: PolicyDocument }[] = [];
    const role = this.resources[roleId];
    if (role?.Type === "AWS::IAM::Role") {
      for (const p of (role.Properties?.Policies ?? []) as Json[])
        out.push({ name: String(p.PolicyName), policy: this.resolve(p.PolicyDocument) as PolicyDocument });
      for (const m of (role.Properties?.ManagedPolicyArns ?? []) as unknown[]) out.push(this.managed(m));
    }
    for (const [id, p] of this.ofType("AWS::IAM::Policy")) {
      const roles = (this.resolve(p.Properties?.Roles) ?? []) as string[];
      if (roles.includes(roleId))
        out.push({ name: id, policy: this.resolve(p.Properties?.PolicyDocument) as PolicyDocument });
    }
    return out;
  }

  /** An instance role carrying the stack's instance policy (what docs/aws.md tells users to attach). */
  instanceRolePolicies(): { name: string; policy: PolicyDocument }[] {
    return this.managedPoliciesNamed("InstancePolicy");
  }

  /** The approver's policies: the stack's ApproverPolicy (attached to the on-call role). */
  approverPolicies(): { name: string; policy: PolicyDocument }[] {
    return this.managedPoliciesNamed("ApproverPolicy");
  }

  private managedPoliciesNamed(part: string): { name: string; policy: PolicyDocument }[] {
    return this.ofType("AWS::IAM::ManagedPolicy")
      .filter(([id]) => id.includes(part))
      .map(([id, p]) => ({
        name: id,
        policy: this.resolve(p.Properties?.PolicyDocument) as PolicyDocument,
      }));
  }

  private managed(arnValue: unknown): { name: string; policy: PolicyDocument } {
    const arn = String(this.resolve(arnValue));
    const known = AWS_MANAGED[arn];
    if (known) return { name: arn, policy: known };
    const local = this.ofType("AWS::IAM::ManagedPolicy").find(([id]) => this.ref(id) === arn);
    if (local)
      return { name: arn, policy: this.resolve(local[1].Properties?.PolicyDocument) as PolicyDocument };
    throw new Error(`managed policy ${arn} is not known to the test: add its document to AWS_MANAGED`);
  }

  /** The resource policy in force on a resource ARN (topic, queue, bucket/object, key, function). */
  resourcePolicy(resourceArn: string): PolicyDocument | undefined {
    for (const [, p] of this.ofType("AWS::SNS::TopicPolicy")) {
      if ((this.resolve(p.Properties?.Topics) as string[]).includes(resourceArn))
        return this.resolve(p.Properties?.PolicyDocument) as PolicyDocument;
    }
    for (const [, p] of this.ofType("AWS::SQS::QueuePolicy")) {
      const arns = ((p.Properties?.Queues ?? []) as unknown[]).map((q) => {
        const id = (q as { Ref: string }).Ref;
        return this.arn(id);
      });
      if (arns.includes(resourceArn)) return this.resolve(p.Properties?.PolicyDocument) as PolicyDocument;
    }
    if (resourceArn.startsWith("arn:aws:s3:::")) {
      const bucket = resourceArn.slice("arn:aws:s3:::".length).split("/")[0];
      for (const [, p] of this.ofType("AWS::S3::BucketPolicy")) {
        if (this.resolve(p.Properties?.Bucket) === bucket)
          return this.resolve(p.Properties?.PolicyDocument) as PolicyDocument;
      }
      return undefined;
    }
    if (resourceArn.startsWith("arn:aws:kms:")) {
      const managed = /:key\/aws-managed-(dynamodb|s3|sqs)$/.exec(resourceArn)?.[1];
      if (managed) return awsManagedKeyPolicy(managed);
      const id = resourceArn.split("/").pop() ?? "";
      const key = this.resources[id];
      return key ? (this.resolve(key.Properties?.KeyPolicy) as PolicyDocument) : undefined;
    }
    if (resourceArn.startsWith("arn:aws:lambda:")) {
      const statements = this.ofType("AWS::Lambda::Permission")
        .filter(([, p]) => this.resolve(p.Properties?.FunctionName) === resourceArn)
        .map(([id, p]) => {
          const sourceArn = p.Properties?.SourceArn ? this.resolve(p.Properties.SourceArn) : null;
          return {
            Sid: id,
            Effect: "Allow",
            Principal: { Service: p.Properties?.Principal },
            Action: p.Properties?.Action,
            Resource: resourceArn,
            ...(sourceArn ? { Condition: { ArnLike: { "AWS:SourceArn": sourceArn } } } : {}),
          };
        });
      return statements.length ? { Version: "2012-10-17", Statement: statements } : undefined;
    }
    return undefined;
  }

  /**
   * The KMS calls the service makes with the caller's permissions for one call, from the template's
   * encryption settings: SNS topics with KmsMasterKeyId (Publish: GenerateDataKey + Decrypt), buckets
   * with aws:kms, queues with KmsMasterKeyId, tables with SSE (AWS managed key or a customer key).
   */
  implicitKmsCalls(call: IamCall): IamCall[] {
    const kms = (keyArn: string, service: string, actions: string[]) =>
      actions.map((action) => ({
        principal: call.principal,
        action,
        resource: keyArn,
        context: { "kms:ViaService": `${service}.${REGION}.amazonaws.com`, "kms:CallerAccount": ACCOUNT },
        via: `${call.via} (${service} uses the key for ${call.action})`,
      }));
    const keyArnOf = (v: unknown) => {
      const s = String(this.resolve(v));
      return s.startsWith("arn:") ? s : `arn:aws:kms:${REGION}:${ACCOUNT}:key/${s}`;
    };
    const [service] = call.action.split(":");
    if (service === "sns" && call.action === "sns:Publish") {
      const topic = this.ofType("AWS::SNS::Topic").find(([id]) => this.ref(id) === call.resource);
      const key = topic?.[1].Properties?.KmsMasterKeyId;
      return key ? kms(keyArnOf(key), "sns", ["kms:GenerateDataKey", "kms:Decrypt"]) : [];
    }
    if (service === "s3" && (call.action === "s3:PutObject" || call.action === "s3:GetObject")) {
      const bucket = call.resource.slice("arn:aws:s3:::".length).split("/")[0];
      const b = this.ofType("AWS::S3::Bucket").find(([id]) => this.ref(id) === bucket);
      const rule = (
        b?.[1].Properties?.BucketEncryption as
          | { ServerSideEncryptionConfiguration: { ServerSideEncryptionByDefault: Json }[] }
          | undefined
      )?.ServerSideEncryptionConfiguration[0]?.ServerSideEncryptionByDefault;
      if (!rule || rule.SSEAlgorithm === "AES256") return [];
      const key = rule.KMSMasterKeyID
        ? keyArnOf(rule.KMSMasterKeyID)
        : `arn:aws:kms:${REGION}:${ACCOUNT}:key/aws-managed-s3`;
      return kms(key, "s3", call.action === "s3:PutObject" ? ["kms:GenerateDataKey"] : ["kms:Decrypt"]);
    }
    if (service === "sqs" && call.action === "sqs:SendMessage") {
      const q = this.ofType("AWS::SQS::Queue").find(([id]) => this.arn(id) === call.resource);
      const key = q?.[1].Properties?.KmsMasterKeyId;
      return key ? kms(keyArnOf(key), "sqs", ["kms:GenerateDataKey", "kms:Decrypt"]) : [];
    }
    if (service === "dynamodb") {
      const table = this.ofType("AWS::DynamoDB::Table").find(([id]) => this.arn(id) === call.resource);
      const sse = table?.[1].Properties?.SSESpecification as Json | undefined;
      if (!sse?.SSEEnabled) return [];
      const key = sse.KMSMasterKeyId
        ? keyArnOf(sse.KMSMasterKeyId)
        : `arn:aws:kms:${REGION}:${ACCOUNT}:key/aws-managed-dynamodb`;
      return kms(key, "dynamodb", ["kms:Decrypt"]);
    }
    return [];
  }

  /** Evaluates one call (not its implicit KMS calls) as IAM would. */
  async evaluateOne(call: IamCall, identityPolicies: { name: string; policy: PolicyDocument }[]) {
    const resourcePolicy = call.resource === "*" ? undefined : this.resourcePolicy(call.resource);
    const service = !call.principal.startsWith("arn:");
    const result = await runSimulation(
      {
        request: {
          principal: call.principal,
          action: call.action,
          resource: { resource: call.resource, accountId: ACCOUNT },
          contextVariables: {
            "aws:SecureTransport": "true",
            ...(service ? { "aws:SourceAccount": ACCOUNT } : {}),
            ...call.context,
          },
        },
        identityPolicies: service ? [] : identityPolicies,
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(resourcePolicy ? { resourcePolicy } : {}),
      },
      {},
    );
    if (result.resultType === "error") return { allowed: false, result: `error: ${result.errors.message}` };
    return { allowed: result.overallResult === "Allowed", result: result.overallResult };
  }
}
