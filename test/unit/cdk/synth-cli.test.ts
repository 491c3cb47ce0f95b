import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../../lib/paths.js";

describe("npx cdk synth", () => {
  it("synthesizes offline from cdk.json, bundling every Lambda with local esbuild, nag plugin on", () => {
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
        Resources: Record<string, { Type: string }>;
      };
      expect(
        Object.values(template.Resources).filter((x) => x.Type === "AWS::Lambda::Function"),
      ).toHaveLength(12);
      const files = readdirSync(out)
        .filter((d) => d.startsWith("asset.") && existsSync(join(out, d, "index.mjs")))
        .map((d) => join(out, d, "index.mjs"));
      // Every function has its own bundle (12, with RequestApproval), each under 1 MB.
      expect(files).toHaveLength(12);
      for (const f of files) expect(statSync(f).size).toBeLessThan(1_000_000);
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
