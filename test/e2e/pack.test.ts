import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { labDown, labLoad, labUp } from "../../lab/index.js";
import { appLock } from "../support/app-lock.js";
import { type CliRun, REPO, runProcess, waitIdle } from "../support/cli.js";

/**
 * The package as a platform team gets it: `npm pack` (which builds through `prepare`), the tarball
 * installed into a fresh CDK app outside the repository, offline from the npm cache; a stack with the
 * construct, two existing alarms, an existing topic and a runbook override; `cdk synth`; then the
 * installed `runbook` CLI against the lab, with an override file. Lab port 19410 (run under the e2e flock).
 */
const PORT = 19410;
const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as {
  version: string;
  devDependencies: Record<string, string>;
};
const tmp = mkdtempSync(join(tmpdir(), "runbook-pack-"));
const app = join(tmp, "app");
let tarball = "";

type Run = CliRun;
/** A command in the app, with npm's own environment variables removed (the app is not this repository's). */
function run(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  return runProcess(cmd, args, {
    cwd,
    timeoutMs,
    env: { ...env, CDK_DISABLE_VERSION_CHECK: "1", CDK_DISABLE_CLI_TELEMETRY: "true", NO_COLOR: "1" },
  });
}
async function ok(cmd: string, args: string[], cwd: string, timeoutMs = 600_000): Promise<Run> {
  const r = await run(cmd, args, cwd, timeoutMs);
  if (r.code !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} exited ${r.code}\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-2000)}`,
    );
  }
  return r;
}

const OVERRIDE = `extends: api-unreachable
thresholds:
  httpKeepAliveMs: 20000
  fdUsedRatio: 0.85
mitigation:
  defaults:
    mode: plan
  ladders:
    websocket-session-leak:
      - action: kill-idle-connections
        params: { minIdleSeconds: 300, maxConnections: 5000 }
      - action: escalate
`;

const APP = `import { App, Stack } from "aws-cdk-lib";
import { Alarm } from "aws-cdk-lib/aws-cloudwatch";
import { Topic } from "aws-cdk-lib/aws-sns";
import { ApiUnreachableRunbook } from "runbook-autopilot";

const app = new App();
const stack = new Stack(app, "Ops", { env: { account: "123456789012", region: "eu-west-1" } });
const arn = (name) => \`arn:aws:cloudwatch:eu-west-1:123456789012:alarm:\${name}\`;
new ApiUnreachableRunbook(stack, "ApiUnreachable", {
  alarms: [
    Alarm.fromAlarmArn(stack, "Unhealthy", arn("orders-api-unhealthy-hosts")),
    Alarm.fromAlarmArn(stack, "Errors", arn("orders-api-5xx")),
  ],
  topic: Topic.fromTopicArn(stack, "OnCall", "arn:aws:sns:eu-west-1:123456789012:ops-on-call"),
  runbook: "runbook-override.yaml",
  service: { port: 8080, healthPath: "/actuator/health", systemdUnit: "orders-api.service" },
});
`;

afterAll(async () => {
  await labDown({ port: PORT });
  rmSync(tmp, { recursive: true, force: true });
}, 120_000);

describe("npm pack → a fresh CDK app outside the repository (offline)", () => {
  beforeAll(async () => {
    const packed = await ok("npm", ["pack", "--pack-destination", tmp, "--json"], REPO);
    const name = (
      JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as Array<{ filename: string }>
    )[0]?.filename;
    if (!name) throw new Error(`npm pack named no tarball: ${packed.stdout.slice(0, 500)}`);
    tarball = join(tmp, name);
    mkdirSync(app);
    const dev = pkg.devDependencies;
    const dependencies = {
      "runbook-autopilot": `file:../${name}`,
      "aws-cdk-lib": dev["aws-cdk-lib"] ?? "",
      constructs: dev.constructs ?? "",
      "aws-cdk": dev["aws-cdk"] ?? "",
    };
    writeFileSync(
      join(app, "package.json"),
      JSON.stringify({ name: "ops-infra", private: true, type: "module", dependencies }),
    );
    // The cache holds the tarballs `npm ci` fetched, not the registry's metadata, so the app gets a lock
    // file made from this repository's: offline, npm installs exactly those tarballs by integrity.
    writeFileSync(
      join(app, "package-lock.json"),
      JSON.stringify(appLock("ops-infra", dependencies, tarball, name)),
    );
    writeFileSync(join(app, "cdk.json"), JSON.stringify({ app: "node app.mjs" }));
    writeFileSync(join(app, "app.mjs"), APP);
    writeFileSync(join(app, "runbook-override.yaml"), OVERRIDE);
    await ok("npm", ["ci", "--offline", "--no-audit", "--no-fund", "--loglevel=error"], app);
  }, 1_200_000);

  it("installs a real copy (not a link into the repository) with dist/, runbooks/ and no sources", () => {
    const installed = join(app, "node_modules/runbook-autopilot");
    expect(lstatSync(installed).isSymbolicLink()).toBe(false);
    for (const f of [
      "dist/lib/index.js",
      "dist/lib/index.d.ts",
      "dist/lib/index.js.map",
      "dist/lambdas/core/contracts.d.ts",
      "dist/lambdas/handlers/diagnose.js",
      "dist/cli/runbook.mjs",
      "bin/runbook.js",
      "runbooks/api-unreachable.yaml",
      "runbooks/probes/api-unreachable.sh",
      "runbooks/actions/kill-idle-connections.sh",
      "runbooks/templates/postmortem.md.hbs",
    ]) {
      expect(existsSync(join(installed, f)), f).toBe(true);
    }
    // No sources: bin/runbook.js (shipped) runs dist/ because cli/main.ts is absent.
    for (const f of ["lib/index.ts", "cli/main.ts", "lab", "test", "tsconfig.json"]) {
      expect(existsSync(join(installed, f)), f).toBe(false);
    }
  });

  it("the contracts entry loads, with the schema versions", async () => {
    const r = await ok(
      "node",
      [
        "--input-type=module",
        "-e",
        "const c = await import('runbook-autopilot/contracts'); console.log(JSON.stringify([c.DIAGNOSIS_SCHEMA_VERSION, c.INCIDENT_SCHEMA_VERSION, c.EVIDENCE_SCHEMA_VERSION, typeof c.diagnosisSchema.parse]))",
      ],
      app,
    );
    expect(JSON.parse(r.stdout)).toEqual([1, 1, 1, "function"]);
  });

  it("cdk synth: the construct with two existing alarms, an existing topic and the override", async () => {
    await ok(join(app, "node_modules/.bin/cdk"), ["synth", "--quiet", "--no-notices"], app);
    const template = JSON.parse(readFileSync(join(app, "cdk.out/Ops.template.json"), "utf8")) as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    };
    const of = (type: string) => Object.values(template.Resources).filter((r) => r.Type === type);
    expect(of("AWS::StepFunctions::StateMachine")).toHaveLength(1);

    const rule = of("AWS::Events::Rule")[0]?.Properties as {
      EventPattern: { detail: { alarmName: unknown[] } };
    };
    expect(rule.EventPattern.detail.alarmName).toEqual(
      expect.arrayContaining(["orders-api-unhealthy-hosts", "orders-api-5xx"]),
    );

    // The existing topic is used, not a new notification topic.
    const topics = of("AWS::SNS::Topic");
    expect(topics.length).toBeLessThanOrEqual(1); // at most the alarm topic
    const fns = of("AWS::Lambda::Function").map(
      (f) =>
        f.Properties as {
          Runtime: string;
          Handler: string;
          Code: { S3Key: string };
          Environment: { Variables: Record<string, unknown> };
        },
    );
    expect(fns.length).toBeGreaterThanOrEqual(11);
    const workflow = fns.filter((f) => f.Environment.Variables.TOPIC_ARN !== undefined);
    expect(workflow.length).toBeGreaterThan(0);
    for (const f of workflow) {
      expect(f.Environment.Variables.TOPIC_ARN).toBe("arn:aws:sns:eu-west-1:123456789012:ops-on-call");
      expect(f.Environment.Variables.DEFAULT_MODE).toBe("plan");
      expect(f.Runtime).toMatch(/^nodejs2[2-9]\.x$/);
      expect(f.Handler).toBe("index.handler");
    }

    // Every Lambda asset was bundled from the installed package: code, and the RESOLVED runbook.
    const keys = new Set(fns.map((f) => f.Code.S3Key.replace(/\.zip$/, "")));
    expect(keys.size).toBe(fns.length);
    for (const key of keys) {
      const dir = join(app, "cdk.out", `asset.${key}`);
      const code = readFileSync(join(dir, "index.cjs"), "utf8");
      expect(code.length).toBeGreaterThan(10_000);
      expect(code).not.toContain(REPO);
      const runbook = parse(readFileSync(join(dir, "runbooks/api-unreachable.yaml"), "utf8")) as {
        thresholds: Record<string, number>;
        mitigation: { ladders: Record<string, unknown[]> };
      };
      expect(runbook.thresholds.httpKeepAliveMs).toBe(20000);
      expect(runbook.thresholds.fdUsedRatio).toBe(0.85);
      expect(runbook.thresholds.wsSessionsMin).toBe(100); // from the shipped runbook
      expect(runbook.mitigation.ladders["websocket-session-leak"]).toEqual([
        { action: "kill-idle-connections", params: { minIdleSeconds: 300, maxConnections: 5000 } },
        { action: "escalate", params: {} },
      ]);
      expect(existsSync(join(dir, "runbooks/templates/postmortem.md.hbs"))).toBe(true);
    }
  }, 900_000);

  it("a bad override fails cdk synth with the file, field and what was expected", async () => {
    writeFileSync(join(app, "bad-override.yaml"), "thresholds:\n  fdUsedRatio: high\n");
    writeFileSync(join(app, "bad.mjs"), APP.replace("runbook-override.yaml", "bad-override.yaml"));
    const r = await run(
      join(app, "node_modules/.bin/cdk"),
      ["synth", "--quiet", "--no-notices", "--app", "node bad.mjs", "-o", "cdk.out.bad"],
      app,
      600_000,
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /bad-override\.yaml:2:16 at thresholds\.fdUsedRatio: expected number, got "high"/,
    );
  }, 600_000);

  it("the installed runbook CLI: --version, --help", async () => {
    const bin = join(app, "node_modules/.bin/runbook");
    expect((await ok(bin, ["--version"], app)).stdout.trim()).toBe(pkg.version);
    const help = await ok(bin, ["--help"], app);
    expect(help.stdout).toMatch(/^Usage: runbook/m);
    expect(help.stdout).toMatch(/diagnose/);
    expect(help.stdout).toMatch(/run \[options\] <runbook>/);
    const lab = await run(bin, ["lab", "up", "--mode", "ws-leak", "--port", "1"], app, 60_000);
    expect(lab.code).toBe(2);
    expect(lab.stderr).toMatch(/ships with the source repository/);
  });

  it("the installed runbook diagnose, with an override file, names the WebSocket leak on the lab", async () => {
    writeFileSync(
      join(app, "lab-override.yaml"),
      "extends: api-unreachable\nthresholds:\n  httpKeepAliveMs: 1000\nprobe:\n  idleThresholdMs: 2000\n",
    );
    const lab = await labUp({ mode: "ws-leak", port: PORT, fdLimit: 1024, keepAliveMs: 1000 });
    const load = await labLoad({ port: PORT, sessions: 2000 });
    expect(load.stoppedReason).toBe("server-stopped-accepting");
    await waitIdle(PORT, 2100, { share: 0.95 }); // sessions idle beyond the override's 2 s threshold
    const r = await ok(
      join(app, "node_modules/.bin/runbook"),
      [
        "diagnose",
        "--port",
        String(PORT),
        "--output",
        "json",
        "--log-path",
        lab.logPath,
        "--runbook",
        "lab-override.yaml",
      ],
      app,
      120_000,
    );
    const d = JSON.parse(r.stdout) as {
      schemaVersion: number;
      rootCause: { id: string };
      evidence: {
        schemaVersion: number;
        sockets: { status: string; data?: { idle: { thresholdMs: number } } };
      };
    };
    expect(d.schemaVersion).toBe(1);
    expect(d.evidence.schemaVersion).toBe(1);
    expect(d.rootCause.id).toBe("websocket-session-leak");
    expect(d.evidence.sockets.data?.idle.thresholdMs).toBe(2000); // the override reached the probe
  }, 300_000);
});
