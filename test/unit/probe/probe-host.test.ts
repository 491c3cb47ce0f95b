import { spawnSync } from "node:child_process";
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Evidence } from "../../../lambdas/core/evidence/schema.js";
import { parseProbeOutput } from "../../../lambdas/core/parsers/index.js";
import { DEFAULT_REDACTION_RULES, encodeForProbe, Redactor } from "../../../lambdas/core/redact/index.js";
import { RAW_STEP_SCRIPT } from "../../../lib/document-parameters.js";
import { CORPUS, SECRETS } from "../redact/corpus.js";
import { runProbe } from "./probe-harness.js";

/**
 * The probe's host-side safety without a JVM (no listener on the port: quick): redaction with the
 * patterns from the one source, the raw folder rules (symlinks, owners, modes), retention, the caps on
 * the log tail and on raw output. Runs as root (as under SSM); the "other user" is `nobody`.
 */
const PORT = 19150;
const PATTERNS = encodeForProbe(DEFAULT_REDACTION_RULES);
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

function evidenceOf(stdout: string): Evidence {
  const r = parseProbeOutput(stdout, { target: "local" });
  if (!r.ok) throw r.error;
  return r.value;
}

/** The probe with the default patterns and a raw folder `<base>/<incident>/<phase>` under `dir`. */
function probeRaw(baseName: string, incident: string, phase: string, logPath = "") {
  const base = join(dir, baseName);
  const rawDir = join(base, incident, phase);
  const run = runProbe({ port: String(PORT), logPath, rawDir, rawBase: base, redactPatterns: PATTERNS });
  return { run, base, rawDir };
}

let dir = "";
beforeAll(() => {
  if (!isRoot) throw new Error("probe-host tests need root (the probe runs as root under SSM)");
  dir = mkdtempSync(join(tmpdir(), "probe-host-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("redaction on the host", () => {
  it("the probe's sed applies the same rules as TypeScript: raw log copy equals redactor output, no secret in stdout or raw", () => {
    const log = join(dir, "corpus.log");
    // Each line also as a "Too many open files" line, so the logs section's samples carry secrets too.
    writeFileSync(
      log,
      `${CORPUS.join("\n")}\n${CORPUS.slice(0, 5)
        .map((l) => `Too many open files ${l}`)
        .join("\n")}\n`,
    );
    const { run, rawDir } = probeRaw("base-redact", "inc-1", "before", log);
    expect(run.status, run.stderr).toBe(0);
    const raw = readFileSync(join(rawDir, "app-log-tail.txt"), "utf8");
    const expected = new Redactor(DEFAULT_REDACTION_RULES).text(readFileSync(log, "utf8"));
    expect(raw).toBe(expected.text);
    for (const s of SECRETS) {
      expect(run.stdout, s).not.toContain(s);
      for (const f of readdirSync(rawDir))
        expect(readFileSync(join(rawDir, f), "utf8"), `${f}: ${s}`).not.toContain(s);
    }
    const ev = evidenceOf(run.stdout);
    expect(ev.logs.status).toBe("ok");
    expect(ev.collector.redaction).toEqual({
      rules: DEFAULT_REDACTION_RULES.length,
      stdout: expect.any(Number),
      raw: expected.count,
    });
    expect(ev.collector.redaction?.stdout).toBeGreaterThanOrEqual(5);
  }, 120_000);

  it("refuses patterns sed cannot compile, before collecting anything", () => {
    const bad = Buffer.from("0\t(a)[b\n").toString("base64");
    const run = runProbe({ port: String(PORT), redactPatterns: bad });
    expect(run.status).toBe(2);
    expect(run.stdout).toMatch(/SSM_redactPatterns: a pattern is not a valid POSIX extended regex/);
  });
});

describe("raw folder", () => {
  it("creates the base 0700, per-phase files 0600; a 0600 log is never copied more readable", () => {
    const log = join(dir, "private.log");
    writeFileSync(log, "secret-free line\n", { mode: 0o600 });
    const { run, base, rawDir } = probeRaw("base-modes", "inc-2", "before", log);
    expect(run.status, run.stderr).toBe(0);
    for (const d of [base, join(base, "inc-2"), rawDir]) expect(statSync(d).mode & 0o777, d).toBe(0o700);
    const files = readdirSync(rawDir);
    expect(files).toContain("app-log-tail.txt");
    for (const f of files) expect(statSync(join(rawDir, f)).mode & 0o077, f).toBe(0);
    // No mktemp working folder is left beside the phase folder.
    expect(readdirSync(join(base, "inc-2"))).toEqual(["before"]);
    expect(evidenceOf(run.stdout).collector.truncations ?? []).toEqual([]);
  }, 120_000);

  it.each([
    ["a symlink base", (b: string) => symlinkSync(join(dir, "victim"), b), /is a symbolic link/],
    [
      "a base owned by another user",
      (b: string) => {
        mkdirSync(b, { mode: 0o700 });
        chownSync(b, NOBODY, NOBODY);
      },
      /owned by uid 65534/,
    ],
    [
      "a world-writable base",
      (b: string) => {
        mkdirSync(b);
        spawnSync("chmod", ["0777", b]);
      },
      /writable by group or others/,
    ],
    [
      "a planted symlink as the phase folder",
      (b: string) => {
        mkdirSync(join(b, "inc-3"), { recursive: true, mode: 0o700 });
        symlinkSync(join(dir, "victim"), join(b, "inc-3", "before"));
      },
      /is a symbolic link/,
    ],
  ])(
    "refuses %s with one clear line, and writes nothing through it",
    (_name, plant, why) => {
      const victim = join(dir, "victim");
      rmSync(victim, { recursive: true, force: true });
      mkdirSync(victim);
      writeFileSync(join(victim, "app-log-tail.txt"), "untouched");
      const base = mkdtempSync(join(dir, "base-"));
      rmSync(base, { recursive: true });
      plant(base);
      const rawDir = join(base, "inc-3", "before");
      const run = runProbe({ port: String(PORT), rawDir, rawBase: base, redactPatterns: PATTERNS });
      expect(run.status).toBe(2);
      expect(run.stdout).toMatch(/^==> input status=invalid reason=raw folder refused: /m);
      expect(run.stdout).toMatch(why);
      expect(run.stderr).toMatch(why);
      expect(readdirSync(victim)).toEqual(["app-log-tail.txt"]);
      expect(readFileSync(join(victim, "app-log-tail.txt"), "utf8")).toBe("untouched");
    },
    120_000,
  );

  it("the raw step prints regular files only: never a planted symlink, never a folder not its own", () => {
    const secretFile = join(dir, "root-only.txt");
    writeFileSync(secretFile, "ROOT-ONLY-CONTENT", { mode: 0o600 });
    const rawDir = join(dir, "raw-step");
    mkdirSync(rawDir, { mode: 0o700 });
    writeFileSync(join(rawDir, "ss-s.txt"), "REAL-RAW-FILE");
    symlinkSync(secretFile, join(rawDir, "jstack.txt"));
    const run = spawnSync("bash", ["-c", RAW_STEP_SCRIPT], {
      env: { SSM_rawDir: rawDir, PATH: "/usr/bin:/bin" },
      encoding: "utf8",
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("REAL-RAW-FILE");
    expect(run.stdout).not.toContain("ROOT-ONLY-CONTENT");
    chownSync(rawDir, NOBODY, NOBODY);
    const refused = spawnSync("bash", ["-c", RAW_STEP_SCRIPT], {
      env: { SSM_rawDir: rawDir, PATH: "/usr/bin:/bin" },
      encoding: "utf8",
    });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/refused: .* owned by uid 65534/);
    expect(refused.stdout).not.toContain("REAL-RAW-FILE");
    const link = join(dir, "raw-step-link");
    symlinkSync(rawDir, link);
    const viaLink = spawnSync("bash", ["-c", RAW_STEP_SCRIPT], {
      env: { SSM_rawDir: link, PATH: "/usr/bin:/bin" },
      encoding: "utf8",
    });
    expect(viaLink.status).toBe(2);
    expect(viaLink.stderr).toMatch(/symbolic link/);
  }, 120_000);

  it("retention removes incident folders untouched for more than 7 days, keeps newer ones and the current one", () => {
    const base = join(dir, "base-retention");
    const old = join(base, "inc-old");
    const recent = join(base, "inc-recent");
    mkdirSync(join(old, "before"), { recursive: true, mode: 0o700 });
    mkdirSync(recent, { recursive: true, mode: 0o700 });
    spawnSync("chmod", ["0700", base]);
    const tenDaysAgo = new Date(Date.now() - 10 * 86_400_000);
    const sixDaysAgo = new Date(Date.now() - 6 * 86_400_000);
    utimesSync(old, tenDaysAgo, tenDaysAgo);
    utimesSync(recent, sixDaysAgo, sixDaysAgo);
    const { run } = probeRaw("base-retention", "inc-now", "before");
    expect(run.status, run.stderr).toBe(0);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(recent)).toBe(true);
    expect(existsSync(join(base, "inc-now", "before"))).toBe(true);
    expect(run.stdout).toMatch(/^retentionRemoved=1$/m);
  }, 120_000);
});

describe("bounds", () => {
  it("a 2 GB log without newlines: only the last 4 MiB are read, and the cut is recorded", () => {
    const log = join(dir, "huge.log");
    spawnSync("truncate", ["-s", "2G", log]);
    const { run, rawDir } = probeRaw("base-huge", "inc-4", "before", log);
    expect(run.status, run.stderr).toBe(0);
    expect(statSync(join(rawDir, "app-log-tail.txt")).size).toBeLessThanOrEqual(4 * 1024 * 1024);
    const ev = evidenceOf(run.stdout);
    expect(ev.logs.status).toBe("ok");
    expect(ev.collector.truncations).toContain("logs: log tail cut to the last 4194304 of 2147483648 bytes");
    expect(run.stdout.length).toBeLessThan(24_000);
  }, 120_000);

  it("raw output over the incident's budget is cut, each cut recorded", () => {
    const base = join(dir, "base-budget");
    const earlier = join(base, "inc-5", "before");
    mkdirSync(earlier, { recursive: true, mode: 0o700 });
    spawnSync("chmod", ["0700", base, join(base, "inc-5")]);
    // An earlier phase already used the whole incident budget (64 MiB).
    spawnSync("truncate", ["-s", "64M", join(earlier, "jstack.txt")]);
    const log = join(dir, "small.log");
    writeFileSync(log, "one line\n");
    const { run, rawDir } = probeRaw("base-budget", "inc-5", "after", log);
    expect(run.status, run.stderr).toBe(0);
    const ev = evidenceOf(run.stdout);
    const cuts = ev.collector.truncations ?? [];
    expect(cuts).toContain("raw: app-log-tail.txt 9 0");
    expect(cuts.length).toBeGreaterThan(3);
    for (const f of readdirSync(rawDir)) expect(statSync(join(rawDir, f)).size, f).toBe(0);
    expect(run.stdout).toMatch(/^incidentBytesBefore=67108864$/m);
  }, 120_000);
});
