/**
 * Captures one REAL probe run against a running lab: the probe (runbooks/probes/api-unreachable.sh) with
 * the shipped runbook's parameters (its defaults: idle threshold, histogram mode, session classes), the
 * lab's log, and a raw folder. Writes test/unit/parsers/captured/<name>/: probe-stdout.txt and the raw
 * tool outputs of the same run, so the awk aggregates can be checked against the TypeScript oracles
 * (captured.test.ts) and `npx tsx scripts/make-evidence-fixtures.ts probe-<name>` can build the Evidence.
 *
 * Usage: npx tsx scripts/capture-probe.ts --port 20310 --name lab-pool-leak
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as z from "zod";
import { readState } from "../lab/manager.js";
import { probeParameters } from "../lambdas/workflows/probe-parameters.js";
import { loadRunbookDoc, runbookView } from "../lambdas/workflows/runbook-files.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ArgsSchema = z.object({
  port: z.coerce.number().int().min(1024).max(65535),
  name: z.string().regex(/^[a-z0-9-]+$/, "expected a kebab-case capture name"),
});

function argsOf(argv: readonly string[]): z.infer<typeof ArgsSchema> {
  const get = (flag: string) => argv[argv.indexOf(flag) + 1];
  const r = ArgsSchema.safeParse({ port: get("--port"), name: get("--name") });
  if (!r.success) {
    console.error(`capture-probe: ${r.error.issues[0]?.path.join(".")}: ${r.error.issues[0]?.message}`);
    process.exit(2);
  }
  return r.data;
}

const { port, name } = argsOf(process.argv.slice(2));
const state = readState(undefined, port);
if (!state) {
  console.error(`capture-probe: no lab on port ${port} (runbook lab up --port ${port} --mode ...)`);
  process.exit(2);
}
const runbook = runbookView(await loadRunbookDoc("api-unreachable"));
const work = mkdtempSync(path.join(tmpdir(), "capture-probe-"));
const rawDir = path.join(work, "raw");
const params = probeParameters(
  { runbook },
  { port, pid: null, healthPath: "/health", logPath: state.logPath },
  rawDir,
);
const env = {
  ...process.env,
  ...Object.fromEntries(Object.entries(params).map(([k, v]) => [`SSM_${k}`, v])),
};
const r = spawnSync("bash", [path.join(ROOT, "runbooks/probes/api-unreachable.sh")], {
  env,
  encoding: "utf8",
  timeout: 120_000,
});
if (r.status !== 0) {
  console.error(`capture-probe: the probe exited ${r.status}: ${r.stderr.trim().split("\n").pop() ?? ""}`);
  process.exit(1);
}
const out = path.join(ROOT, "test/unit/parsers/captured", name);
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
for (const f of readdirSync(rawDir)) cpSync(path.join(rawDir, f), path.join(out, f));
writeFileSync(path.join(out, "probe-stdout.txt"), r.stdout);
rmSync(work, { recursive: true, force: true });
console.error(`capture-probe: wrote ${path.relative(ROOT, out)} (${readdirSync(out).length} files)`);
