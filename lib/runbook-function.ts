import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { Architecture, Runtime, Tracing } from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { handlerEntry, LOCK_FILE, REPO_ROOT } from "./paths.js";

/** ESM bundles still meet CommonJS dependencies that call `require`: give them one. */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __runbookCreateRequire } from 'module'; const require = __runbookCreateRequire(import.meta.url);";

/** The esbuild options every runbook Lambda is bundled with (also used by scripts/bundle-sizes.ts). */
export const BUNDLE_DEFAULTS = {
  minify: true,
  sourceMap: true,
  target: "node24",
  format: "esm",
  mainFields: ["module", "main"],
  banner: ESM_REQUIRE_BANNER,
  /**
   * The AWS SDK v3 comes from the Lambda runtime (nodejs24.x ships it): bundling it puts EC2's client
   * alone at ~550 KB and every handler over 1 MB. `bundleAwsSdk: true` pins the locked version instead.
   */
  externalModules: ["@aws-sdk/*"],
} as const;

/** The Lambda runtime of every runbook function; `BUNDLE_DEFAULTS.target` matches it. */
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
}

/**
 * One Lambda of the runbook: NodejsFunction with the project's defaults — local esbuild (never Docker),
 * minified ESM with source maps and a `require` banner, ARM64, Node.js 24, X-Ray active tracing, its own
 * log group with retention, and the Powertools environment.
 */
export class RunbookFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: RunbookFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, "Logs", {
      retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.function = new NodejsFunction(this, "Function", {
      entry: handlerEntry(props.handlerName),
      handler: "handler",
      description: props.description,
      runtime: props.runtime ?? LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: Tracing.ACTIVE,
      logGroup: this.logGroup,
      projectRoot: REPO_ROOT,
      depsLockFilePath: LOCK_FILE,
      ...(props.deadLetterQueue ? { deadLetterQueue: props.deadLetterQueue } : {}),
      environment: {
        NODE_OPTIONS: "--enable-source-maps",
        POWERTOOLS_SERVICE_NAME: props.serviceName ?? "runbook-autopilot",
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? "RunbookAutopilot",
        POWERTOOLS_LOG_LEVEL: "INFO",
        POWERTOOLS_TRACER_CAPTURE_RESPONSE: "false",
        // The runbook YAML and templates travel with the code (see commandHooks below).
        RUNBOOKS_DIR: "/var/task/runbooks",
        ...props.environment,
      },
      bundling: {
        minify: BUNDLE_DEFAULTS.minify,
        sourceMap: BUNDLE_DEFAULTS.sourceMap,
        target: BUNDLE_DEFAULTS.target,
        format: OutputFormat.ESM,
        mainFields: [...BUNDLE_DEFAULTS.mainFields],
        banner: BUNDLE_DEFAULTS.banner,
        externalModules: props.bundleAwsSdk ? [] : [...BUNDLE_DEFAULTS.externalModules],
        forceDockerBundling: false,
        // The workflows read the runbook (YAML) and the postmortem templates at cold start: ship them.
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir: string, outputDir: string) => [
            `mkdir -p "${outputDir}/runbooks" && cp -r "${inputDir}/runbooks/." "${outputDir}/runbooks/"`,
          ],
        },
      },
    });
  }
}
