import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadLambdaRunbook, RunbookFileError } from "../../lambdas/workflows/bundled-runbook.js";
import { loadRunbookDoc } from "../../lambdas/workflows/runbook-files.js";
import { awsStateMachineSteps } from "../../lambdas/workflows/state-machine-steps.js";
import type { PostmortemInput, StateMachineStepsDeps } from "../../lambdas/workflows/step-contract.js";
import { bundleLambda, writeBundledRunbooks } from "../../lib/lambda-bundle.js";
import { handlerEntry, REPO_ROOT, RUNBOOKS_DIR } from "../../lib/paths.js";
import { bundleParts, bundleSdkImports, handlerNames } from "../../scripts/bundle-sizes.js";
import { bundleFolders } from "../support/bundle-folders.js";

/**
 * What the Lambda bundles carry (sizes, not times: the bundle sizes and the import times are measured and
 * printed by `npm run bench -- --only bundles,lambda-init`, docs/benchmarks.md).
 */

/** The handler names the constructs deploy, read from lib/: `fn("Id", "name", ...)` and `handlerName: "name"`. */
function deployedHandlers(): string[] {
  const names = new Set<string>();
  for (const f of readdirSync(join(REPO_ROOT, "lib")).filter((f) => f.endsWith(".ts"))) {
    const text = readFileSync(join(REPO_ROOT, "lib", f), "utf8");
    for (const m of text.matchAll(/\bfn\(\s*"[A-Za-z]+",\s*"([a-z-]+)"/g)) names.add(m[1] ?? "");
    for (const m of text.matchAll(/\bhandlerName:\s*"([a-z-]+)"/g)) names.add(m[1] ?? "");
  }
  return [...names].sort();
}

const bytesOf = (parts: { name: string; bytes: number }[], name: string) =>
  parts.find((p) => p.name === name)?.bytes ?? 0;

describe("Lambda bundles", () => {
  it("the bundle-size bench measures every Lambda the constructs deploy, and only those", () => {
    const deployed = deployedHandlers();
    expect(deployed.length).toBeGreaterThanOrEqual(13);
    expect(handlerNames()).toEqual(deployed);
  });

  it("carry zod's English locale only, and the postmortem renderer only in WritePostmortem", () => {
    const diagnose = bundleParts("diagnose");
    const postmortem = bundleParts("write-postmortem");
    for (const parts of [diagnose, postmortem]) {
      // All of zod's locales are ~195 KB; English alone ~2.7 KB (namespace imports, biome.json).
      expect(bytesOf(parts, "zod/v4/core")).toBeGreaterThan(0);
      expect(bytesOf(parts, "zod/v4/locales")).toBeLessThan(5_000);
    }
    expect(bytesOf(postmortem, "handlebars")).toBeGreaterThan(0);
    expect(bytesOf(diagnose, "handlebars")).toBe(0);
    expect(bytesOf(diagnose, "core/postmortem")).toBe(0);
    // The workflow Lambdas read their runbook as JSON written at synth: no YAML parser in the bundle.
    expect(bytesOf(diagnose, "yaml")).toBe(0);
    // WritePostmortem reads its knowledge as JSON and runs templates precompiled at synth: no YAML
    // parser, and Handlebars' runtime alone (~17 KiB; the compiler and source-map were ~110 KiB).
    expect(bytesOf(postmortem, "yaml")).toBe(0);
    expect(bytesOf(postmortem, "source-map")).toBe(0);
    expect(bytesOf(postmortem, "handlebars")).toBeLessThan(25_000);
  }, 60_000);

  it("import only the AWS SDK packages their handler calls (each a cold-start cost: bench 8)", () => {
    // The workflow steps (diagnose, plan, apply, verify, postmortem) all use the S3 artifacts and the
    // DynamoDB records; the SSM runner and SNS only where their handler gives them (workflow-wiring.ts).
    const records = ["client-dynamodb", "client-s3", "lib-dynamodb"];
    const expected: Record<string, string[]> = {
      "apply-mitigation": ["client-dynamodb", "client-s3", "client-sns", "client-ssm", "lib-dynamodb"],
      diagnose: records,
      "plan-mitigation": records,
      verify: ["client-dynamodb", "client-s3", "client-ssm", "lib-dynamodb"],
      "write-postmortem": ["client-dynamodb", "client-s3", "client-sns", "lib-dynamodb"],
      "fleet-brake": ["client-dynamodb", "client-elastic-load-balancing-v2", "lib-dynamodb"],
      "leak-watch": ["client-dynamodb", "client-sns", "client-ssm"],
      "open-incident": ["client-dynamodb", "client-s3", "lib-dynamodb"],
      "poll-probe": ["client-s3", "client-ssm"],
      "request-approval": ["client-dynamodb", "client-sns", "lib-dynamodb"],
      "resolve-targets": [
        "client-cloudwatch",
        "client-ec2",
        "client-elastic-load-balancing-v2",
        "client-ssm",
      ],
      "send-probe": ["client-ssm"],
      "sns-alarm-ingest": ["client-sfn"],
    };
    const actual = Object.fromEntries(
      handlerNames().map((h) => [h, bundleSdkImports(h).map((m) => m.replace("@aws-sdk/", ""))]),
    );
    expect(actual).toEqual(expected);
  }, 120_000);

  it("with bundleAwsSdk the bundle carries the SDK itself: it loads where no @aws-sdk package can be found", () => {
    const dir = mkdtempSync(join(tmpdir(), "runbook-sdk-bundled-"));
    try {
      const file = bundleLambda(dir, { entry: handlerEntry("send-probe"), bundleAwsSdk: true });
      // Loaded outside the repository and without NODE_PATH: an SDK package it did not carry would throw.
      const r = spawnSync(
        process.execPath,
        ["-e", "process.stdout.write(typeof require(process.argv[1]).handler)", file],
        {
          cwd: dir,
          encoding: "utf8",
          timeout: 60_000,
          env: { PATH: process.env.PATH ?? "", AWS_REGION: "eu-west-1" },
        },
      );
      expect(r.status, r.stderr.slice(-400)).toBe(0);
      expect(r.stdout).toBe("function");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("steps built without the postmortem state say so when asked for a postmortem", async () => {
    const unused = new Proxy({} as StateMachineStepsDeps, {
      get: (_, p) => {
        throw new Error(`the deps were used (${String(p)}) before the missing step was reported`);
      },
    });
    const steps = awsStateMachineSteps({ runbooksDir: "/nonexistent", runbookId: "x", rawDirBase: "/tmp" })(
      unused,
    );
    await expect(steps.writePostmortem({} as PostmortemInput)).rejects.toThrow(
      /built without the postmortem step/,
    );
  });

  describe("the runbook a Lambda bundle reads", () => {
    const folder = bundleFolders("api-unreachable.yaml");

    it("is the YAML runbook validated at synth and written as JSON, the same runbook the CLI loads", async () => {
      const dir = folder();
      expect(writeBundledRunbooks(dir)).toEqual([join(dir, "api-unreachable.runbook.json")]);
      // Only the JSON is there to read in a bundle: the YAML is removed so it cannot be what was read.
      rmSync(join(dir, "api-unreachable.yaml"));
      process.env.RUNBOOK_LAMBDA_BUNDLE = "1";
      const bundled = await loadLambdaRunbook("api-unreachable", dir);
      expect(bundled).toEqual(await loadRunbookDoc("api-unreachable", RUNBOOKS_DIR));
      expect(bundled.classes.length).toBeGreaterThan(0);
    });

    it("is refused, naming the file and the field, when the JSON is not a valid runbook", async () => {
      const dir = folder();
      writeBundledRunbooks(dir);
      const file = join(dir, "api-unreachable.runbook.json");
      const doc = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
      writeFileSync(file, JSON.stringify({ ...doc, id: 42 }));
      process.env.RUNBOOK_LAMBDA_BUNDLE = "1";
      const err = await loadLambdaRunbook("api-unreachable", dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RunbookFileError);
      expect(String(err)).toMatch(/api-unreachable\.runbook\.json is invalid: id: expected string, got/);
    });

    it("stops the synth when a runbook in the folder does not validate", () => {
      const dir = folder();
      writeFileSync(join(dir, "broken.yaml"), "id: broken\nclasses: 3\n");
      expect(() => writeBundledRunbooks(dir)).toThrow(/cannot bundle broken\.yaml: .*not a valid runbook/);
    });
  });
});
