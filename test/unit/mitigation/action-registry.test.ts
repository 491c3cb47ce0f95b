import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Stack } from "aws-cdk-lib";
import { CfnDocument } from "aws-cdk-lib/aws-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { registerAction, unregisterAction } from "../../../lambdas/core/mitigation/actions/registry.js";
import { defineAction } from "../../../lambdas/core/mitigation/actions/types.js";
import { PORT_PARAMETER, UINT } from "../../../lambdas/core/mitigation/host-command.js";
import { formatPlan } from "../../../lambdas/core/mitigation/plan.js";
import { checkRunbookData } from "../../../lambdas/core/runbook/load.js";
import type { Runbook } from "../../../lambdas/core/runbook/schema.js";
import { loadRunbookDoc } from "../../../lambdas/workflows/runbook-files.js";
import { actionDocuments } from "../../../lib/document-parameters.js";
import { RunbookDocuments } from "../../../lib/runbook-documents.js";
import { REPO } from "../../support/cli.js";
import { buildEvidence } from "../../support/evidence-factory.js";
import { healthOutput, runOnFakeHost } from "../../support/fake-workflow.js";

/**
 * Proof that an action is one module: a test registers `drain-connections` (its own params, script and
 * SSM parameters) and gets its SSM document, its plan line and its execution, with no edit elsewhere.
 */
const drain = defineAction({
  id: "drain-connections",
  params: z.object({ graceSeconds: z.number().int().min(1).max(600).default(15) }).strict(),
  destructive: true,
  command: {
    name: "drain-connections",
    script: "actions/drain-connections.sh",
    description: "test action: drain the app port's connections",
    executionTimeoutSeconds: 120,
    parameters: {
      port: PORT_PARAMETER,
      graceMs: { description: "Drain for this long, ms", allowedPattern: UINT(7), default: "15000" },
    },
  },
  blocked: () => null,
  describe: (p, ctx) => `Drain connections on port ${ctx.port} for ${p.graceSeconds}s.`,
  runs: (p, ctx) => ({
    ok: true,
    runs: [
      {
        part: "main",
        parameters: { port: String(ctx.port), graceMs: String(p.graceSeconds * 1000) },
        timeoutMs: (p.graceSeconds + 30) * 1000,
      },
    ],
  }),
  summarize: (outputs) => `drained ${outputs.at(-1)?.kv.drained} connections`,
});

const SCRIPT = '#!/usr/bin/env bash\necho "result=ok"\necho "drained=$SSM_port/$SSM_graceMs"\n';
const dir = mkdtempSync(join(tmpdir(), "runbooks-drain-"));
let doc: Runbook;

beforeAll(async () => {
  cpSync(join(REPO, "runbooks"), dir, { recursive: true });
  writeFileSync(join(dir, "actions/drain-connections.sh"), SCRIPT);
  registerAction(drain);
  const base = await loadRunbookDoc("api-unreachable");
  // The runbook names the new action like any other: validated against the registry.
  const checked = checkRunbookData({
    ...base,
    mitigation: {
      ...base.mitigation,
      ladders: {
        ...base.mitigation.ladders,
        "websocket-session-leak": [
          { action: "drain-connections", params: { graceSeconds: 7 } },
          { action: "escalate" },
        ],
      },
    },
  });
  if (!checked.ok) throw new Error(JSON.stringify(checked.error.issues));
  doc = checked.value;
});
afterAll(() => unregisterAction("drain-connections"));

describe("a registered action module", () => {
  it("gets its SSM document, generated from its script and its parameter specs", () => {
    expect(actionDocuments()["drain-connections"]?.parameters.graceMs?.allowedPattern).toBe(UINT(7));
    const stack = new Stack(new App(), "Docs");
    const docs = new RunbookDocuments(stack, "Documents", { runbooksDir: dir });
    expect(Object.keys(docs.refs)).toContain("drain-connections");
    // The CloudFormation content of each document, as synth would write it (without a whole synth).
    const content = docs.node.children
      .filter((c): c is CfnDocument => c instanceof CfnDocument)
      .map((d) => d.content)
      .find((c) => c.description === "test action: drain the app port's connections");
    expect(content.parameters.graceMs).toEqual({
      type: "String",
      description: "Drain for this long, ms",
      default: "15000",
      allowedPattern: "^[0-9]{1,7}$",
      interpolationType: "ENV_VAR",
    });
    expect(content.mainSteps[0].inputs.runCommand.join("\n")).toBe(SCRIPT);
  });

  it("is refused by a runbook with params its schema does not take", () => {
    const bad = checkRunbookData({
      ...doc,
      mitigation: {
        ...doc.mitigation,
        ladders: {
          ...doc.mitigation.ladders,
          unknown: [{ action: "drain-connections", params: { graceSecs: 1 } }],
        },
      },
    });
    expect(bad.ok).toBe(false);
    expect(JSON.stringify(bad.ok ? null : bad.error.issues)).toMatch(
      /unknown parameter of drain-connections \(it takes: graceSeconds\)/,
    );
  });

  it("gets its plan line and its execution: its parameters → its script, its output → its summary", async () => {
    const { record, requests } = await runOnFakeHost({
      doc,
      runbooksDir: dir,
      probe: (n) => buildEvidence(n === 0 ? "ws-leak-at-limit" : "healthy"),
      answers: {
        "drain-connections": (r) => ({
          stdout: `result=ok\ndrained=${r.parameters.port}/${r.parameters.graceMs}\n`,
        }),
        "check-health": (_r, n) => ({ stdout: n === 0 ? healthOutput("timeout") : healthOutput("ok") }),
      },
    });
    expect(record.plan && formatPlan(record.plan)).toContain(
      "  1. drain-connections [changes host]: Drain connections on port 8080 for 7s.",
    );
    const sent = requests.find((r) => r.name === "drain-connections");
    expect(sent).toEqual({
      name: "drain-connections",
      scriptPath: "actions/drain-connections.sh",
      script: SCRIPT,
      parameters: { port: "8080", graceMs: "7000" },
      timeoutMs: 37_000,
    });
    expect(record.actions[0]).toMatchObject({
      action: "drain-connections",
      status: "applied",
      reason: "drained 8080/7000 connections",
      healthyAfter: true,
    });
    expect(record.status).toBe("recovered");
  });
});
