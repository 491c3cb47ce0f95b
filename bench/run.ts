/**
 * `npm run bench`: speed and memory targets, measured and PRINTED (the tests assert behaviour, not
 * timings). Prints one table: each figure with its target and PASS / MISS (INFO: context, no target).
 * Exit code: 1 only when a benchmark could not run at all (ERROR rows); a MISS is reported, not fatal.
 *
 *   npm run bench [-- --only probe,lab,core,memory,bundles,package,side,probe100k,lambda-init,aws-path] [-- --json]
 *                 [-- --lambda-node PATH]
 *
 * --lambda-node: the Node binary that loads the Lambda bundles in benchmark 8. Default: the runtime's
 * major, Node 24 from test/runtime-node (scripts/setup.sh installs it; the functions run nodejs24.x), else
 * the Node running the bench. The version used is printed.
 *
 * Loopback only. Ports: 18250 (the lab), 18195 (the 10k-socket listener), 19445-19455 (side by side,
 * 100k sockets), 20400 (the AWS path's lab; its local AWS servers take ephemeral ports). Every step is bounded in time and count; the lab is always taken down (labDown) and
 * the socket processes stopped. The whole bench takes ~15 min on 2 busy cores (side by side: ~8 min).
 * See docs/benchmarks.md.
 */
import { existsSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { RUNTIME_NODE_PATH } from "../test/support/runtime-node.js";
import { benchAwsPath } from "./aws-path.js";
import { benchBundles } from "./bundles.js";
import { benchCore, benchSsHeap } from "./core.js";
import { benchLabDiagnose } from "./lab-diagnose.js";
import { benchLambdaInit } from "./lambda-init.js";
import { benchPackage } from "./package.js";
import { benchProbe100k } from "./probe-100k.js";
import { benchProbeBound } from "./probe-bound.js";
import { benchSideBySide } from "./side-by-side.js";
import { failed, type Row, renderTable } from "./table.js";

const ALL = [
  "probe",
  "lab",
  "core",
  "memory",
  "bundles",
  "package",
  "side",
  "probe100k",
  "lambda-init",
  "aws-path",
] as const;
type Part = (typeof ALL)[number];

function parseArgs(argv: readonly string[]): { only: Set<Part>; json: boolean; lambdaNode: string } {
  const i = argv.indexOf("--only");
  const only = new Set<Part>();
  if (i >= 0) {
    for (const p of (argv[i + 1] ?? "").split(",")) {
      if (!(ALL as readonly string[]).includes(p)) {
        console.error(`--only: expected a comma-separated list of ${ALL.join(", ")} (got '${p}')`);
        process.exit(2);
      }
      only.add(p as Part);
    }
  } else for (const p of ALL) only.add(p);
  const n = argv.indexOf("--lambda-node");
  const lambdaNode =
    n >= 0 ? (argv[n + 1] ?? "") : existsSync(RUNTIME_NODE_PATH) ? RUNTIME_NODE_PATH : process.execPath;
  if (!lambdaNode.startsWith("/")) {
    console.error(`--lambda-node: expected the absolute path of a node binary (got '${lambdaNode}')`);
    process.exit(2);
  }
  return { only, json: argv.includes("--json"), lambdaNode };
}

const { only, json, lambdaNode } = parseArgs(process.argv.slice(2));
const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);
const rows: Row[] = [];
const started = performance.now();
const liveStdouts: Array<{ name: string; text: string }> = [];

async function step(name: string, fn: () => Promise<Row[]> | Row[]): Promise<void> {
  try {
    rows.push(...(await fn()));
  } catch (e) {
    log(`${name} could not run: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    rows.push(failed(name, e));
  }
}

if (only.has("probe"))
  await step("2 probe, 10k sockets", async () => {
    const r = await benchProbeBound(log);
    liveStdouts.push({ name: "live 10k-socket probe", text: r.stdout });
    return r.rows;
  });
if (only.has("lab") || only.has("memory"))
  await step("1 diagnose (ws-leak lab)", async () => {
    const r = await benchLabDiagnose(log);
    if (r.probeStdout) liveStdouts.push({ name: "live ws-leak lab probe", text: r.probeStdout });
    return r.rows;
  });
if (only.has("side")) await step("7 side by side", () => benchSideBySide(log));
if (only.has("probe100k"))
  await step("7 side by side: 100k sockets", async () => {
    const r = await benchProbe100k(log);
    liveStdouts.push({ name: "live 100k-socket probe", text: r.stdout });
    return r.rows;
  });
if (only.has("core")) await step("3 core throughput", () => benchCore(liveStdouts, log));
if (only.has("memory")) await step("4 memory: parseSs", () => benchSsHeap(log));
if (only.has("bundles")) await step("5 Lambda bundles", () => benchBundles(log));
if (only.has("package")) await step("6 package", () => benchPackage(log));
if (only.has("lambda-init")) await step("8 Lambda init", () => benchLambdaInit(log, lambdaNode));
if (only.has("aws-path")) await step("9 AWS path", () => benchAwsPath(log));

const order = (r: Row) => r.bench.split(" ")[0] ?? "";
rows.sort((a, b) => order(a).localeCompare(order(b)));
const totalS = ((performance.now() - started) / 1000).toFixed(0);
const cpu = cpus();
const machine = `${cpu.length} cores (${cpu[0]?.model.trim() ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`;
if (json) {
  console.log(JSON.stringify({ machine, totalSeconds: Number(totalS), rows }, null, 2));
} else {
  console.log(`\nrunbook-autopilot benchmarks: ${machine}; ${totalS} s\n`);
  console.log(renderTable(rows));
  const count = (s: Row["status"]) => rows.filter((r) => r.status === s).length;
  console.log(`\n${count("PASS")} PASS, ${count("MISS")} MISS, ${count("ERROR")} could not run`);
}
process.exitCode = rows.some((r) => r.status === "ERROR") ? 1 : 0;
