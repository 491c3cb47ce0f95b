import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Stack } from "aws-cdk-lib";
import { CfnDocument } from "aws-cdk-lib/aws-ssm";
import { afterAll, describe, expect, it } from "vitest";
import { LocalCommandRunner } from "../../../lambdas/adapters/local/command-runner.js";
import { parseKeyValues } from "../../../lambdas/core/mitigation/action-output.js";
import { loadRunbookDoc, loadScripts } from "../../../lambdas/workflows/runbook-files.js";
import { actionDocuments } from "../../../lib/document-parameters.js";
import { documentScript, scriptOfCommands } from "../../../lib/document-script.js";
import { RUNBOOKS_DIR } from "../../../lib/paths.js";
import { RunbookDocuments } from "../../../lib/runbook-documents.js";
import { REPO, startTicksOf } from "../../support/cli.js";

/**
 * The action scripts' shared preamble (runbooks/lib/action-preamble.sh) is in every action as it is sent,
 * exactly once, guard first, and the SSM document carries the same assembled text the local runner runs.
 * No port; one `sleep` stands in for the diagnosed process.
 */
const PREAMBLE = readFileSync(join(REPO, "runbooks/lib/action-preamble.sh"), "utf8");
const PREAMBLE_AS_SENT = documentScript(PREAMBLE, "preamble").trimEnd();
/** The guard's first line: POSIX sh that re-runs the script with bash. */
const GUARD = PREAMBLE.split("\n").find((line) => line.startsWith("if [ -z ")) ?? "(no guard line)";

const stack = new Stack(new App(), "Docs");
new RunbookDocuments(stack, "Documents");
/** Command name → the script its SSM document runs (unpacked when carried compressed). */
const documentScripts = new Map(
  stack.node
    .findAll()
    .filter((c): c is CfnDocument => c instanceof CfnDocument)
    .map((d) => {
      const content = d.content as { mainSteps: { inputs: { runCommand: string[] } }[] };
      return scriptOfCommands(content.mainSteps[0]?.inputs.runCommand ?? []);
    })
    .map((script) => [/^RUNBOOK_ACTION=([a-z-]+)$/m.exec(script)?.[1] ?? "probe", script] as const),
);
const scripts = await loadScripts(await loadRunbookDoc("api-unreachable", RUNBOOKS_DIR), RUNBOOKS_DIR);
const count = (text: string, part: string) => text.split(part).length - 1;

const ACTIONS = Object.entries(actionDocuments()).map(([name, spec]) => [name, spec.script] as const);

describe("every action, as the SSM document carries it and as the local runner loads it", () => {
  it("covers every action document (kill-idle-connections, restart-service, heap-dump, delete-rotated-logs, check-health)", () => {
    expect(ACTIONS.map(([name]) => name).sort()).toEqual(
      ["check-health", "delete-rotated-logs", "heap-dump", "kill-idle-connections", "restart-service"].sort(),
    );
    expect([...documentScripts.keys()].sort()).toEqual(["probe", ...ACTIONS.map(([name]) => name)].sort());
  });

  it.each(ACTIONS)("%s: the preamble exactly once, no include line, the bash guard first", (name, path) => {
    const doc = documentScripts.get(name) ?? "";
    const local = scripts[path] ?? "";
    for (const text of [doc, local]) {
      expect(count(text, "verify_target() {")).toBe(1);
      // No include line (comments may name the mechanism; the local text keeps them).
      expect(text).not.toMatch(/^[^#\n]*runbook:include/m);
    }
    expect(count(local, PREAMBLE.trimEnd())).toBe(1);
    expect(count(doc, PREAMBLE_AS_SENT)).toBe(1);
    // The same assembled text: the document's is the local one less comment-only and blank lines.
    expect(doc).toBe(documentScript(local, name));
    // Before the guard (POSIX sh, re-runs bash) only the shebang and the action's name: no bash syntax.
    const lines = doc.split("\n");
    expect(lines.slice(0, 3)).toEqual(["#!/usr/bin/env bash", `RUNBOOK_ACTION=${name}`, expect.any(String)]);
    expect(lines[2]).toBe(GUARD);
    expect(GUARD).toContain('exec bash "$0"');
  });
});

/** The four actions that act on the diagnosed process, with inputs that pass their validation. */
const TARGETED: Array<[string, Record<string, string>, { never: string; gone: string; reused: string }]> = [
  [
    "kill-idle-connections",
    { SSM_port: "19161", SSM_minIdleMs: "1000" },
    {
      never: ": its sockets are never destroyed",
      gone: ", so no socket is destroyed",
      reused: ": the diagnosis does not describe it, no socket is destroyed",
    },
  ],
  [
    "restart-service",
    { SSM_port: "19161", SSM_restartCommand: "true", SSM_graceSeconds: "0" },
    { never: ": it is never stopped", gone: ", so nothing is restarted", reused: ": it is not stopped" },
  ],
  ["heap-dump", {}, { never: ": it is never dumped", gone: "", reused: "" }],
  [
    "delete-rotated-logs",
    { SSM_logDir: "/nonexistent/logs", SSM_keepNewest: "1", SSM_minUsedPercent: "0", SSM_maxFiles: "10" },
    { never: ": the runbook never acts on it", gone: ", nothing is deleted", reused: ": nothing is deleted" },
  ],
];

const target = spawn("sleep", ["600"], { stdio: "ignore" });
const PID = target.pid ?? 0;
const TICKS = startTicksOf(PID);
const gone = spawnSync("true").pid;
const work = mkdtempSync(join(tmpdir(), "action-preamble-"));
afterAll(() => {
  target.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
});

/**
 * As the local runner runs it (LocalCommandRunner: `bash -c TEXT`), or as SSM may when it ignores the
 * shebang: the document's step written to a file and run by `sh` (dash), whose guard re-runs it with bash.
 */
async function run(name: string, env: Record<string, string>, how: "local" | "ssm-sh") {
  const path = ACTIONS.find(([n]) => n === name)?.[1] ?? "";
  if (how === "local") {
    const parameters = Object.fromEntries(Object.entries(env).map(([k, v]) => [k.replace(/^SSM_/, ""), v]));
    const r = await new LocalCommandRunner().run("local", {
      name,
      scriptPath: path,
      script: scripts[path] ?? null,
      parameters,
      timeoutMs: 60_000,
    });
    return { code: r.exitCode, out: parseKeyValues(r.stdout), stdout: r.stdout, stderr: r.stderr };
  }
  const file = join(work, `${name}.sh`);
  writeFileSync(file, documentScripts.get(name) ?? "");
  const r = spawnSync("dash", [file], {
    env: { PATH: process.env.PATH ?? "", ...env },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  return { code: r.status, out: parseKeyValues(r.stdout), stdout: r.stdout, stderr: r.stderr };
}

describe("the four actions share one identity check (PID and start time), with their own words", () => {
  it.each(
    TARGETED.flatMap(([name, env, words]) =>
      (["local", "ssm-sh"] as const).map((how) => [name, how, env, words] as const),
    ),
  )(
    "%s (%s): a planted PID reuse (another start time) is refused: exit 3, result=refused-target, one stderr line",
    async (name, how, env, words) => {
      const r = await run(
        name,
        { ...env, SSM_pid: String(PID), SSM_startTicks: String(Number(TICKS) + 1) },
        how,
      );
      expect(r.code, r.stdout + r.stderr).toBe(3);
      expect(r.out.result).toBe("refused-target");
      expect(r.out.error).toBe(
        `PID ${PID} now belongs to another process (start time ${TICKS}, expected ${Number(TICKS) + 1})${words.reused}`,
      );
      expect(r.stderr.trim().split("\n")).toEqual([`${name}: refused: ${r.out.error}`]);
    },
  );

  it.each(TARGETED)(
    "%s: PID 1, its own ancestors and a gone PID are refused too",
    async (name, env, words) => {
      const cases: Array<[Record<string, string>, string]> = [
        [{ SSM_pid: "1", SSM_startTicks: startTicksOf(1) }, `PID 1 is the init process${words.never}`],
        [
          { SSM_pid: String(process.pid), SSM_startTicks: startTicksOf(process.pid) },
          `PID ${process.pid} is this runbook's own process or one of its ancestors${words.never}`,
        ],
        [
          { SSM_pid: String(gone), SSM_startTicks: "12345" },
          `PID ${gone} is gone: the diagnosed process is no longer running${words.gone}`,
        ],
      ];
      for (const [ids, error] of cases) {
        const r = await run(name, { ...env, ...ids }, "local");
        expect(r.code, r.stdout + r.stderr).toBe(3);
        expect(r.out).toMatchObject({ result: "refused-target", error });
      }
    },
  );
});
