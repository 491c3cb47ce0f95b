import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { LAMBDA_BUNDLE_FILE, LAMBDA_NODE_OPTIONS } from "../../../lib/lambda-bundle.js";
import { REPO_ROOT } from "../../../lib/paths.js";
import { runtimeNode } from "../../support/runtime-node.js";

/**
 * `require` of a bundle, as the runtime loads a CommonJS handler: its export, whether the SDK came through
 * `require`, and what the source map Node read for its stack traces holds (only with source maps on).
 */
const RUNTIME_LOAD = `const m = require(process.argv[1]);
const sdkRequired = Object.keys(require.cache).some((k) => k.includes("/@aws-sdk/"));
const map = require("node:module").findSourceMap(process.argv[1]);
// Some position of the generated code maps back into lambdas/handlers/ (sampled every 100 columns).
let mapsToHandlerSource = false;
const lines = require("node:fs").readFileSync(process.argv[1], "utf8").split("\\n");
for (let l = 0; map && l < lines.length && !mapsToHandlerSource; l++)
  for (let c = 0; c < lines[l].length && !mapsToHandlerSource; c += 100)
    mapsToHandlerSource = /lambdas\\/handlers\\/[a-z-]+\\.ts$/.test(map.findEntry(l, c).originalSource ?? "");
// An invocation with an event no step accepts, outside Lambda: it must reach our validation and reject
// with one of our two one-line errors (the event, or the function's environment, which is not set here).
const ctx = { functionName: "f", functionVersion: "1", invokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:f",
  memoryLimitInMB: "256", awsRequestId: "r", getRemainingTimeInMillis: () => 30000 };
m.handler({ nonsense: true }, ctx).then(
  () => ({ name: "resolved", oneLine: true }),
  (e) => ({ name: e.name, oneLine: !String(e.message).includes("\\n") }),
).then((rejected) => process.stdout.write(JSON.stringify({
  handler: typeof m.handler,
  sdkRequired,
  mapsToHandlerSource,
  sourcesContent: map?.payload.sourcesContent?.length ?? 0,
  rejected,
})));`;

describe("npx cdk synth", () => {
  it("synthesizes offline from cdk.json, bundling every Lambda with local esbuild, nag plugin on", () => {
    const runtime = runtimeNode();
    const out = mkdtempSync(join(tmpdir(), "runbook-cdk-out-"));
    try {
      const r = spawnSync(
        "npx",
        ["cdk", "synth", "--quiet", "--no-notices", "-o", out, "-c", "runbook:nag=true"],
        {
          cwd: REPO_ROOT,
          encoding: "utf8",
          timeout: 170_000,
          env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: "true", AWS_EC2_METADATA_DISABLED: "true" },
        },
      );
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
      const template = JSON.parse(readFileSync(join(out, "RunbookAutopilot.template.json"), "utf8")) as {
        Resources: Record<
          string,
          { Type: string; Properties?: { Environment?: { Variables?: Record<string, unknown> } } }
        >;
      };
      const functions = Object.values(template.Resources).filter((x) => x.Type === "AWS::Lambda::Function");
      expect(functions).toHaveLength(12);
      // Every function runs with source maps on: the bundles below are loaded with these options.
      for (const fn of functions)
        expect(fn.Properties?.Environment?.Variables?.NODE_OPTIONS).toBe(LAMBDA_NODE_OPTIONS);
      const files = readdirSync(out)
        .filter((d) => d.startsWith("asset.") && existsSync(join(out, d, LAMBDA_BUNDLE_FILE)))
        .map((d) => join(out, d, LAMBDA_BUNDLE_FILE));
      // Every function has its own bundle (12, with RequestApproval), each under 1 MB.
      expect(files).toHaveLength(12);
      for (const f of files) expect(statSync(f).size).toBeLessThan(1_000_000);
      // Each loads as the Lambda runtime loads `index.handler` here: nothing under the names its lookup
      // tries first (index, index.js, index.mjs), then `require` of index.cjs, the SDK resolved through
      // NODE_PATH as the runtime's copy is, with the functions' NODE_OPTIONS, by Node 20 and Node 24 (the
      // runtime's major; it can refuse what 20 accepts). A fresh process per bundle, as each is a cold
      // start. The map Node reads at that load points into our TypeScript sources and carries positions
      // only (the sources would triple what Node reads).
      for (const f of files) {
        const dir = dirname(f);
        for (const before of ["index", "index.js", "index.mjs"])
          expect(existsSync(join(dir, before))).toBe(false);
        // Strict, as the ES module bundle was: the directive only counts as the file's first statement.
        expect(readFileSync(f, "utf8").startsWith('"use strict";\n'), f).toBe(true);
        // With this machine's Node and with the runtime's major (Node 24, test/runtime-node).
        for (const node of [process.execPath, runtime.path]) {
          const loaded = spawnSync(node, ["-e", RUNTIME_LOAD, f], {
            cwd: dir,
            encoding: "utf8",
            timeout: 60_000,
            env: {
              ...process.env,
              NODE_PATH: join(REPO_ROOT, "node_modules"),
              AWS_REGION: "eu-west-1",
              NODE_OPTIONS: LAMBDA_NODE_OPTIONS,
            },
          });
          expect(
            loaded.status,
            `${f} (${node}): ${loaded.stderr.trim().split("\n").slice(-3).join(" | ").slice(-400)}`,
          ).toBe(0);
          // The last line: Powertools writes its log and metric lines to stdout before it.
          const got = JSON.parse(loaded.stdout.trim().split("\n").at(-1) ?? "");
          expect(got, `${f} (${node})`).toEqual({
            handler: "function",
            sdkRequired: true,
            mapsToHandlerSource: true,
            sourcesContent: 0,
            rejected: { name: got.rejected.name, oneLine: true },
          });
          expect(["InvalidEventError", "InvalidEnvironmentError"], `${f} (${node})`).toContain(
            got.rejected.name,
          );
        }
      }
      // A bundle imports only the SDK clients its handler calls (the runtime's SDK, loaded at cold
      // start): EC2, ELBv2 and CloudWatch only in ResolveTargets and FleetBrake, SFN only in the SNS ingest.
      const importing = (pkg: string) =>
        files.filter((f) => readFileSync(f, "utf8").includes(`"${pkg}"`)).length;
      expect(importing("@aws-sdk/client-ec2")).toBe(1);
      expect(importing("@aws-sdk/client-elastic-load-balancing-v2")).toBe(2);
      expect(importing("@aws-sdk/client-cloudwatch")).toBe(1);
      expect(importing("@aws-sdk/client-sfn")).toBe(1);
      expect(importing("@aws-sdk/client-s3")).toBeGreaterThan(5);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 180_000);
});
