import { createHash } from "node:crypto";
import { AssetHashType, DockerImage, Duration, RemovalPolicy } from "aws-cdk-lib";
import { Architecture, Code, Function as LambdaFunction, Runtime, Tracing } from "aws-cdk-lib/aws-lambda";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { bundleLambda, LAMBDA_NODE_OPTIONS } from "./lambda-bundle.js";
import { HANDLERS_DIR, handlerEntry, RUNBOOKS_DIR } from "./paths.js";

export { BUNDLE_DEFAULTS } from "./lambda-bundle.js";

/** The Lambda runtime of every runbook function; `BUNDLE_DEFAULTS.target` (lib/lambda-bundle.ts) matches it. */
export const LAMBDA_RUNTIME = Runtime.NODEJS_24_X;

export interface RunbookFunctionProps {
  /** Handler file name under lambdas/handlers, without `.ts` (`resolve-targets`). */
  readonly handlerName: string;
  /** Human description shown in the console. */
  readonly description: string;
  /** POWERTOOLS_SERVICE_NAME. @default "runbook-autopilot" */
  readonly serviceName?: string;
  /** POWERTOOLS_METRICS_NAMESPACE. @default "RunbookAutopilot" */
  readonly metricsNamespace?: string;
  /** Extra environment (merged over the Powertools defaults). @default {} */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** Retention of the function's own log group. @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: RetentionDays;
  /** What happens to the log group on stack deletion. @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * Bundle the AWS SDK v3 (the package-lock version) instead of using the runtime's copy.
   * @default false
   */
  readonly bundleAwsSdk?: boolean;
  /**
   * Lambda runtime. Node.js 24 (supported by AWS until 2028); the bundles are built for the matching
   * esbuild target (`BUNDLE_DEFAULTS.target`), so change both together.
   * @default Runtime.NODEJS_24_X
   */
  readonly runtime?: Runtime;
  /** Dead-letter queue for asynchronous invocations (SNS → Lambda). @default none */
  readonly deadLetterQueue?: IQueue;
  /** The runbooks folder shipped next to the code. @default the package's runbooks/ */
  readonly runbooksDir?: string;
  /**
   * Files written over the shipped runbooks folder, by name: the runbook resolved at synth time (base +
   * the construct's `runbook` override), so the Lambdas read exactly what was validated. @default {}
   */
  readonly runbookFiles?: Readonly<Record<string, string>>;
}

/**
 * One Lambda of the runbook with the project's defaults — bundled by esbuild in process (never Docker),
 * minified CommonJS (`index.cjs`) with source maps, ARM64, Node.js 24, X-Ray active tracing, its own
 * log group with retention, and the Powertools environment.
 */
export class RunbookFunction extends Construct {
  readonly function: LambdaFunction;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: RunbookFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, "Logs", {
      retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    const entry = handlerEntry(props.handlerName);
    const bundle = {
      entry,
      bundleAwsSdk: props.bundleAwsSdk ?? false,
      runbooksDir: props.runbooksDir ?? RUNBOOKS_DIR,
      runbookFiles: props.runbookFiles ?? {},
    };
    this.function = new LambdaFunction(this, "Function", {
      // Bundled at synth time, in process, from the handler next to this module (the TypeScript source in a
      // checkout, dist/ JavaScript in an installed package): see docs/packaging.md. The asset hash is the
      // bundle's, so a changed runbook override changes the asset.
      code: Code.fromAsset(HANDLERS_DIR, {
        assetHashType: AssetHashType.OUTPUT,
        bundling: {
          // CDK caches staged assets by their options, and the tryBundle callback is not part of that key:
          // this value is, so every handler (and every resolved runbook) gets its own bundle.
          environment: {
            RUNBOOK_BUNDLE_KEY: createHash("sha256").update(JSON.stringify(bundle)).digest("hex"),
          },
          // Never used: local bundling always succeeds or throws (no Docker).
          image: DockerImage.fromRegistry("runbook-autopilot/local-bundling-only"),
          local: {
            tryBundle: (outputDir: string) => {
              bundleLambda(outputDir, bundle);
              return true;
            },
          },
        },
      }),
      handler: "index.handler",
      description: props.description,
      runtime: props.runtime ?? LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: Tracing.ACTIVE,
      logGroup: this.logGroup,
      ...(props.deadLetterQueue ? { deadLetterQueue: props.deadLetterQueue } : {}),
      environment: {
        NODE_OPTIONS: LAMBDA_NODE_OPTIONS,
        POWERTOOLS_SERVICE_NAME: props.serviceName ?? "runbook-autopilot",
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? "RunbookAutopilot",
        POWERTOOLS_LOG_LEVEL: "INFO",
        POWERTOOLS_TRACER_CAPTURE_RESPONSE: "false",
        // The runbook YAML and templates travel with the code (bundleLambda copies them).
        RUNBOOKS_DIR: "/var/task/runbooks",
        ...props.environment,
      },
    });
  }
}
