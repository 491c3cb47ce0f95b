import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseKeyValues } from "../../../lambdas/core/mitigation/action-output.js";
import { REPO } from "../../support/cli.js";
import { parseSs } from "../../support/oracles/index.js";

/**
 * The action scripts' input handling and the idle rule they share with the probe, without sockets:
 * a stand-in `ss` on PATH prints fixed sockets. Port 19160 (nothing listens on it).
 */
const KILL = join(REPO, "runbooks/actions/kill-idle-connections.sh");
const HEALTH = join(REPO, "runbooks/actions/check-health.sh");
const PORT = 19160;
const bin = mkdtempSync(join(tmpdir(), "fake-ss-idle-"));
afterAll(() => rmSync(bin, { recursive: true, force: true }));

function run(script: string, env: Record<string, string>, path = process.env.PATH ?? "") {
  const r = spawnSync("bash", [script], { env: { PATH: path, ...env }, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, out: parseKeyValues(r.stdout), stdout: r.stdout };
}

/** Sockets idle exactly at, just below and just above 1000 ms (by lastrcv), and one judged by lastack. */
const SOCKETS = [
  { peer: "127.0.0.1:50001", info: "lastsnd:5 lastrcv:999 lastack:999" },
  { peer: "127.0.0.1:50002", info: "lastsnd:5 lastrcv:1000 lastack:1000" },
  { peer: "127.0.0.1:50003", info: "lastsnd:5 lastrcv:1001 lastack:1001" },
  { peer: "127.0.0.1:50004", info: "lastsnd:5 lastack:1000" },
  { peer: "127.0.0.1:50005", info: "lastsnd:5 lastack:5000" },
];
const local = `127.0.0.1:${PORT}`;
/** As `ss -tanoi "( sport = :PORT )"` prints them (what the probe reads and the test oracle test/support/oracles/ss.ts parses). */
const WITH_STATE = [
  "State Recv-Q Send-Q Local Address:Port Peer Address:Port Process",
  ...SOCKETS.flatMap((s) => [`ESTAB 0 0 ${local} ${s.peer}`, `\t cubic ${s.info}`]),
].join("\n");
/** As `ss -tanoi state established ...` prints them (what the kill script reads: no State column). */
const ESTABLISHED = [
  "Recv-Q Send-Q Local Address:Port Peer Address:Port Process",
  ...SOCKETS.flatMap((s) => [`0 0 ${local} ${s.peer}`, `\t cubic ${s.info}`]),
].join("\n");
writeFileSync(join(bin, "sockets.txt"), `${ESTABLISHED}\n`);
writeFileSync(join(bin, "ss"), `#!/bin/bash\ncat "${join(bin, "sockets.txt")}"\n`);
chmodSync(join(bin, "ss"), 0o755);
const FAKE_PATH = `${bin}:${process.env.PATH}`;

describe("the idle rule is the probe's: idle > threshold", () => {
  it("kill-idle-connections selects exactly the sockets the probe counts as over the threshold", () => {
    const parsed = parseSs(WITH_STATE, { port: PORT, idleThresholdMs: 1000 });
    if (!parsed.ok) throw parsed.error;
    const r = run(KILL, { SSM_port: String(PORT), SSM_minIdleMs: "1000", SSM_dryRun: "true" }, FAKE_PATH);
    expect(r.out).toMatchObject({ result: "dry-run" });
    // 1001 (lastrcv) and 5000 (lastack only): not the ones at exactly 1000.
    expect(parsed.value.aggregate.idle.overThreshold).toBe(2);
    expect(r.out.candidates).toBe(String(parsed.value.aggregate.idle.overThreshold));
  });
});

describe("numeric input is decimal (10#), validated like the SSM patterns", () => {
  it("leading zeros are read in base 10, never as octal", () => {
    const r = run(
      KILL,
      {
        SSM_port: "09160",
        SSM_minIdleMs: "0999",
        SSM_maxConnections: "09",
        SSM_limit: "",
        SSM_dryRun: "true",
      },
      FAKE_PATH,
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatchObject({ port: "9160", minIdleMs: "999", candidates: "4", result: "dry-run" });
    // Port 9160: nothing listens there; 08 attempts are 8, not an octal error.
    const h = run(HEALTH, {
      SSM_port: "09160",
      SSM_attempts: "08",
      SSM_intervalSeconds: "0",
      SSM_requestTimeoutSeconds: "09",
    });
    expect(h.code).toBe(0);
    expect(h.stdout.match(/^attempt=/gm)).toHaveLength(8);
    expect(h.stdout).toMatch(/^recovered=false$/m);
  });

  it.each([
    [KILL, { SSM_port: "0x1F", SSM_minIdleMs: "1000" }],
    [KILL, { SSM_port: "65536", SSM_minIdleMs: "1000" }],
    [KILL, { SSM_port: "8080", SSM_minIdleMs: "1e3" }],
    [KILL, { SSM_port: "8080", SSM_minIdleMs: "1000", SSM_maxConnections: "12345678" }],
    [KILL, { SSM_port: "8080", SSM_minIdleMs: "1000", SSM_limit: "01" }],
    [HEALTH, { SSM_port: " 8080" }],
    [HEALTH, { SSM_port: "8080", SSM_healthPath: "/health?x=$(id)" }],
    [HEALTH, { SSM_port: "8080", SSM_attempts: "0" }],
    [HEALTH, { SSM_port: "8080", SSM_intervalSeconds: "-1" }],
    [HEALTH, { SSM_port: "8080", SSM_requestTimeoutSeconds: "00" }],
  ])("%s rejects %j with exit 2 and result=invalid-input", (script, env) => {
    const r = run(script, env, FAKE_PATH);
    expect(r.code).toBe(2);
    expect(r.out.result).toBe("invalid-input");
    expect(r.out.error).toMatch(/^SSM_/);
  });
});
