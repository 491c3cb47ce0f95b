/**
 * Benchmark 6: the package. `runbook --version` cold start of the compiled CLI (target < 200 ms, with
 * `node -e 0` on the same machine as the floor), the `npm pack` tarball size and the installed size
 * (the package folder, and the package with its production dependencies as `npm install` lays them out).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../lambdas/adapters/local/package-root.js";
import { buildCli } from "../scripts/build.js";
import { appLock } from "../test/support/app-lock.js";
import { bounded, info, kib, median, mib, ms, type Row } from "./table.js";

const ROOT = packageRoot();
const B = "6 package";

/** CPU time (user + sys, ms) of `node ARGS`, from GNU time; NaN without /usr/bin/time. */
function cpuMs(args: string[]): number {
  const r = spawnSync("/usr/bin/time", ["-f", "%U %S", process.execPath, ...args], {
    encoding: "utf8",
    timeout: 30_000,
  });
  const [u, s] = (r.stderr ?? "").trim().split("\n").at(-1)?.split(/\s+/).map(Number) ?? [];
  return r.status === 0 && u !== undefined && s !== undefined ? (u + s) * 1000 : Number.NaN;
}

function wallMs(args: string[]): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { encoding: "utf8", timeout: 30_000 });
  const elapsed = performance.now() - t;
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} exited ${r.status}: ${r.stderr.slice(0, 300)}`);
  return elapsed;
}

function duBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += statSync(join(e.parentPath, e.name)).size;
  }
  return total;
}

export async function benchPackage(log: (s: string) => void): Promise<Row[]> {
  log("package: bundle the CLI (scripts/build.ts --cli-only)");
  await buildCli();
  const cli = join(ROOT, "dist/cli/runbook.mjs");
  const runs = 15;
  log(`package: ${runs} × runbook --version and ${runs} × node -e 0, interleaved`);
  const cold: number[] = [];
  const help: number[] = [];
  const floor: number[] = [];
  const cpu: number[] = [];
  const cpuFloor: number[] = [];
  const load = Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
  wallMs([cli, "--version"]); // warm the page cache once: the figure is process start-up, not disk
  for (let i = 0; i < runs; i++) {
    cold.push(wallMs([cli, "--version"]));
    help.push(wallMs([cli, "--help"]));
    floor.push(wallMs(["-e", "0"]));
    cpu.push(cpuMs([cli, "--version"]));
    cpuFloor.push(cpuMs(["-e", "0"]));
  }
  const rows: Row[] = [
    bounded(B, `runbook --version cold start (median of 15, load ${load.toFixed(1)})`, median(cold), 200, ms),
    info(B, "  min / max", `${ms(Math.min(...cold))} / ${ms(Math.max(...cold))}`),
    info(B, "runbook --help cold start (median of 15)", ms(median(help))),
    info(B, "node -e 0 on this machine (median of 15)", ms(median(floor))),
    info(
      B,
      "CPU time (user+sys) --version / node -e 0, median",
      `${ms(median(cpu))} / ${ms(median(cpuFloor))}`,
    ),
  ];

  log("package: npm pack (builds through prepack) and npm install --offline of the tarball");
  const tmp = mkdtempSync(join(tmpdir(), "runbook-bench-pack-"));
  try {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
    const pack = spawnSync("npm", ["pack", "--pack-destination", tmp, "--json"], {
      cwd: ROOT,
      encoding: "utf8",
      env,
      timeout: 900_000,
    });
    if (pack.status !== 0) throw new Error(`npm pack exited ${pack.status}: ${pack.stderr.slice(-400)}`);
    const meta = (
      JSON.parse(pack.stdout.slice(pack.stdout.indexOf("["))) as Array<{
        filename: string;
        size: number;
        unpackedSize: number;
        entryCount: number;
      }>
    )[0];
    if (!meta) throw new Error("npm pack printed no tarball");
    rows.push(
      info(B, "tarball (npm pack)", `${kib(meta.size)}, ${meta.entryCount} files`),
      info(B, "package unpacked", mib(meta.unpackedSize)),
    );
    const app = join(tmp, "app");
    mkdirSync(app);
    const dependencies = { "runbook-autopilot": `file:../${meta.filename}` };
    writeFileSync(
      join(app, "package.json"),
      JSON.stringify({ name: "bench-app", private: true, dependencies }),
    );
    const lock = appLock("bench-app", dependencies, join(tmp, meta.filename), meta.filename);
    writeFileSync(join(app, "package-lock.json"), JSON.stringify(lock));
    const inst = spawnSync("npm", ["ci", "--offline", "--no-audit", "--no-fund", "--loglevel=error"], {
      cwd: app,
      env,
      encoding: "utf8",
      timeout: 900_000,
    });
    if (inst.status !== 0)
      throw new Error(`npm ci --offline exited ${inst.status}: ${inst.stderr.slice(-400)}`);
    rows.push(
      info(
        B,
        "installed: node_modules/runbook-autopilot",
        mib(duBytes(join(app, "node_modules/runbook-autopilot"))),
      ),
      info(
        B,
        "installed with dependencies and peers (node_modules)",
        mib(duBytes(join(app, "node_modules"))),
      ),
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return rows;
}
