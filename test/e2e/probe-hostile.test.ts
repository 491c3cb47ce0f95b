import { type ChildProcess, spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseProbeOutput } from "../../lambdas/core/parsers/index.js";
import { DEFAULT_REDACTION_RULES, encodeForProbe } from "../../lambdas/core/redact/index.js";
import { readRunbookScript } from "../../lambdas/workflows/runbook-files.js";
import { REPO, runCli } from "../support/cli.js";
import { runProbe, startChild, stopChild } from "../unit/probe/probe-harness.js";

/**
 * A hostile target, as on a production host where the app's user (or an attacker with code execution in
 * the web app) is not trusted and the probe runs as root through SSM:
 * - a listener running as `nobody` from a planted JDK (a folder `nobody` owns, with jcmd/jstack/jstat/jmap
 *   that leave a marker file named after the uid that ran them) and a planted catalina.jar whose
 *   `ServerInfo` main would leave a marker too;
 * - secrets on its command line and in its log (0600, owned by `nobody`).
 * Nothing of it may run as uid 0, and no secret may reach stdout, raw/, evidence/, incident.json or the
 * postmortem. Needs root. Ports 19110-19111.
 */
const PORT = 19110;
const ROOT_PORT = 19111;
const NOBODY = 65534;
const JDK = realpathSync("/usr/lib/jvm/default-java");
const PLANTED = [
  "PlantedPw-1x",
  "PlantedBearer-2x",
  "PlantedJdbc-3x",
  "AKIAPLANTEDPLANTED12",
  "PlantedUrlPw-4x",
];
const PATTERNS = encodeForProbe(DEFAULT_REDACTION_RULES);
const isRoot = process.getuid?.() === 0;

let dir = "";
let evil = "";
let markers = "";
let jvm: ChildProcess | undefined;
let rootJvm: ChildProcess | undefined;

function sh(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
}

/** Files every planted executable leaves, named marker-<uid>-<what>. */
function markerFiles(): string[] {
  return readdirSync(markers).sort();
}

function listener(asNobody: boolean, port: number): Promise<ChildProcess> {
  const java = [
    join(evil, "jdk/bin/java"),
    "-Xmx32m",
    `-Dspring.datasource.password=${PLANTED[0]}`,
    `-Dapp.db.url=postgres://app:${PLANTED[4]}@db:5432/x`,
    "-cp",
    `${join(evil, "catalina.jar")}:${join(evil, "classes")}`,
    "Listen",
    String(port),
  ];
  return asNobody
    ? startChild(
        "setpriv",
        [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", ...java],
        /READY/,
        90_000,
      )
    : startChild(java[0] as string, java.slice(1), /READY/, 90_000);
}

beforeAll(async () => {
  if (!isRoot) throw new Error("probe-hostile needs root: the probe runs as root under SSM");
  dir = mkdtempSync(join(tmpdir(), "hostile-"));
  chmodSync(dir, 0o755);
  evil = join(dir, "evil");
  markers = join(dir, "markers");
  mkdirSync(markers, { mode: 0o777 });
  chmodSync(markers, 0o777);
  mkdirSync(join(evil, "jdk/bin"), { recursive: true });
  mkdirSync(join(evil, "src/org/apache/catalina/util"), { recursive: true });
  mkdirSync(join(evil, "classes"), { recursive: true });
  // The planted JDK: the real launcher copied into a folder nobody owns, the rest linked.
  copyFileSync(join(JDK, "bin/java"), join(evil, "jdk/bin/java"));
  chmodSync(join(evil, "jdk/bin/java"), 0o755);
  for (const d of ["lib", "conf", "release"]) symlinkSync(join(JDK, d), join(evil, "jdk", d));
  for (const tool of ["jcmd", "jstack", "jstat", "jmap", "jps"]) {
    writeFileSync(
      join(evil, "jdk/bin", tool),
      `#!/bin/sh\ntouch "${markers}/marker-$(id -u)-${tool}"\necho "planted ${tool}" >&2\nexit 1\n`,
      { mode: 0o755 },
    );
  }
  writeFileSync(
    join(evil, "src/org/apache/catalina/util/ServerInfo.java"),
    `package org.apache.catalina.util;
public class ServerInfo {
  public static void main(String[] a) throws Exception {
    java.nio.file.Files.writeString(java.nio.file.Path.of("${markers}/marker-" + System.getProperty("user.name") + "-serverinfo"), "ran");
    System.out.println("Server number:  6.6.6.0");
  }
}`,
  );
  writeFileSync(
    join(evil, "src/Listen.java"),
    `import java.net.*; import java.io.*;
public class Listen {
  public static void main(String[] a) throws Exception {
    ServerSocket s = new ServerSocket(Integer.parseInt(a[0]), 50, InetAddress.getByName("127.0.0.1"));
    System.out.println("READY");
    while (true) {
      try (Socket c = s.accept()) {
        c.getInputStream().read(new byte[4096]);
        c.getOutputStream().write("HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nConnection: close\\r\\n\\r\\nok".getBytes());
      } catch (IOException e) { }
    }
  }
}`,
  );
  sh(join(JDK, "bin/javac"), [
    "-d",
    join(evil, "classes"),
    join(evil, "src/Listen.java"),
    join(evil, "src/org/apache/catalina/util/ServerInfo.java"),
  ]);
  mkdirSync(join(evil, "jar/org/apache/catalina/util"), { recursive: true });
  copyFileSync(
    join(evil, "classes/org/apache/catalina/util/ServerInfo.class"),
    join(evil, "jar/org/apache/catalina/util/ServerInfo.class"),
  );
  rmSync(join(evil, "classes/org"), { recursive: true });
  writeFileSync(
    join(evil, "jar/org/apache/catalina/util/ServerInfo.properties"),
    "server.info=Apache Tomcat/9.9.99\nserver.number=9.9.99.0\n",
  );
  sh(join(JDK, "bin/jar"), ["cf", join(evil, "catalina.jar"), "-C", join(evil, "jar"), "."]);
  writeFileSync(
    join(evil, "app.log"),
    [
      "INFO starting",
      `DEBUG GET /api Authorization: Bearer ${PLANTED[1]}`,
      `SEVERE Too many open files while connecting to jdbc:postgresql://db/app?user=app&password=${PLANTED[2]}`,
      `SEVERE Too many open files key ${PLANTED[3]}`,
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  sh("chown", ["-R", `${NOBODY}:${NOBODY}`, evil]);
  chmodSync(evil, 0o777);
  jvm = await listener(true, PORT);
}, 180_000);

afterAll(async () => {
  await stopChild(jvm);
  await stopChild(rootJvm);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function assertNoSecrets(where: string, text: string) {
  for (const s of PLANTED) expect(text.includes(s), `${s} in ${where}`).toBe(false);
}

function filesUnder(d: string): string[] {
  return readdirSync(d, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe("a hostile listener running as nobody", () => {
  it("nothing of it runs as root: the Tomcat version is read as data, JDK tools run as nobody; no secret leaves the probe", () => {
    expect(statSync(`/proc/${jvm?.pid}`).uid).toBe(NOBODY);
    const rawDir = join(dir, "raw-probe", "inc", "before");
    const run = runProbe(
      {
        port: String(PORT),
        logPath: join(evil, "app.log"),
        rawDir,
        rawBase: join(dir, "raw-probe"),
        redactPatterns: PATTERNS,
      },
      120_000,
    );
    expect(run.status, run.stderr).toBe(0);
    const found = markerFiles();
    expect(
      found.filter((m) => /^marker-(0|root)-/.test(m)),
      found.join(","),
    ).toEqual([]);
    const r = parseProbeOutput(run.stdout, { target: "local" });
    if (!r.ok) throw r.error;
    // The histogram and threads came through the probe's own attach client (a root-owned python3, run
    // as nobody): no JDK tool ran at all, the planted ones neither.
    expect(r.value.classHistogram).toMatchObject({ status: "ok", data: { attachClient: "direct" } });
    expect(r.value.threads.status).toBe("ok");
    expect(found.filter((m) => /-(jcmd|jstack|jmap)$/.test(m))).toEqual([]);
    expect(r.value.tomcat).toEqual({ status: "ok", data: { version: "9.9.99", source: "properties" } });
    expect(r.value.process.status).toBe("ok");
    assertNoSecrets("probe stdout", run.stdout);
    const raw = filesUnder(rawDir);
    expect(raw.length).toBeGreaterThan(5);
    for (const f of raw) assertNoSecrets(f, readFileSync(f, "utf8"));
    expect(readFileSync(join(rawDir, "app-log-tail.txt"), "utf8")).toContain("[REDACTED]");
    expect(statSync(join(rawDir, "app-log-tail.txt")).mode & 0o077).toBe(0);
  }, 180_000);

  it("diagnose and a whole run leave no secret in stdout, evidence/, raw/, incident.json or the postmortem", async () => {
    const target = ["--target", "local", "--port", String(PORT), "--log-path", join(evil, "app.log")];
    const d = await runCli(["diagnose", ...target, "--output", "json"], { timeoutMs: 180_000 });
    expect(d.code, d.stderr).toBe(0);
    assertNoSecrets("diagnose stdout", d.stdout);
    expect(d.stdout).toContain("[REDACTED]");
    const out = join(dir, "incidents");
    const run = await runCli(["run", "api-unreachable", ...target, "--out", out, "--mode", "plan"], {
      timeoutMs: 300_000,
    });
    expect([0, 3, 4], run.stderr).toContain(run.code);
    assertNoSecrets("run stdout", run.stdout);
    assertNoSecrets("run stderr", run.stderr);
    const [incident] = readdirSync(out).filter((n) => !n.startsWith("."));
    if (!incident) throw new Error("no incident folder");
    const files = filesUnder(join(out, incident));
    for (const want of ["incident.json", "postmortem.md", "postmortem.html"])
      expect(files.map((f) => f.slice(join(out, incident).length + 1))).toContain(want);
    expect(files.some((f) => f.includes("/evidence/"))).toBe(true);
    expect(files.some((f) => f.includes("/raw/"))).toBe(true);
    for (const f of files) assertNoSecrets(f, readFileSync(f, "utf8"));
    const record = JSON.parse(readFileSync(join(out, incident, "incident.json"), "utf8"));
    expect(record.redaction.markers).toBeGreaterThan(0);
    expect(record.evidence.before.collector.redaction.stdout).toBeGreaterThan(0);
    expect(markerFiles().filter((m) => /^marker-(0|root)-/.test(m))).toEqual([]);
  }, 600_000);
});

describe("a host whose python3 the JVM's user could have written", () => {
  it("the direct attach is refused and jcmd attaches instead, as the JVM's user: the planted python3 never runs", () => {
    // The assembled probe with its python3 candidates replaced by one nobody owns (it would leave a marker).
    const planted = join(evil, "jdk/bin/python3");
    writeFileSync(planted, `#!/bin/sh\ntouch "${markers}/marker-$(id -u)-python3"\nexit 1\n`, {
      mode: 0o755,
    });
    sh("chown", [`${NOBODY}:${NOBODY}`, planted]);
    const script = readRunbookScript(join(REPO, "runbooks"), "probes/api-unreachable.sh").replace(
      /^ATTACH_PY_CANDIDATES=.*$/m,
      `ATTACH_PY_CANDIDATES=(${planted})`,
    );
    expect(script).toContain(`ATTACH_PY_CANDIDATES=(${planted})`);
    const run = spawnSync("bash", ["-c", script], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        SSM_port: String(PORT),
        SSM_redactPatterns: PATTERNS,
      },
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const r = parseProbeOutput(run.stdout, { target: "local" });
    if (!r.ok) throw r.error;
    const found = markerFiles();
    expect(found.filter((m) => m.endsWith("-python3"))).toEqual([]);
    // The planted jcmd next to the JVM's java ran, as nobody, and failed: the section says so.
    expect(found).toContain(`marker-${NOBODY}-jcmd`);
    expect(found.filter((m) => /^marker-(0|root)-/.test(m))).toEqual([]);
    expect(r.value.classHistogram.status).toBe("unavailable");
    if (r.value.classHistogram.status === "unavailable")
      expect(r.value.classHistogram.reason).toMatch(/^jcmd failed \(exit 1\): planted jcmd/);
  }, 180_000);
});

describe("a JVM running as root from a JDK another user can write", () => {
  it("its own JDK's tools never run as root: the probe's root-owned attach client is used instead", async () => {
    rootJvm = await listener(false, ROOT_PORT);
    const run = runProbe({ port: String(ROOT_PORT), redactPatterns: PATTERNS }, 120_000);
    expect(run.status, run.stderr).toBe(0);
    const r = parseProbeOutput(run.stdout, { target: "local" });
    if (!r.ok) throw r.error;
    // The planted jcmd/jstat/jstack next to its `java` are skipped (nobody owns them): the probe's own
    // attach client (root's python3) attaches, as root, to a root JVM; no JDK tool runs.
    expect(r.value.heap.status).toBe("ok");
    expect(r.value.threads.status).toBe("ok");
    expect(r.value.classHistogram).toMatchObject({ status: "ok", data: { attachClient: "direct" } });
    expect(markerFiles().filter((m) => /^marker-(0|root)-/.test(m))).toEqual([]);
    expect(existsSync(join(markers, "marker-0-jcmd"))).toBe(false);
  }, 180_000);
});

describe("JDK tool selection when no trusted JDK is left", () => {
  it("says why the attach sections are unavailable instead of running an untrusted tool as root; the heap is read as data", () => {
    // A probe copy whose trusted PATH has no JDK (only what it needs), against the root JVM from the
    // planted JDK: every attach tool is refused with the reason.
    const bin = join(dir, "bin-nojdk");
    mkdirSync(bin, { recursive: true });
    for (const t of [
      "bash",
      "ss",
      "awk",
      "sed",
      "grep",
      "cat",
      "tr",
      "cut",
      "head",
      "tail",
      "sort",
      "wc",
      "date",
      "stat",
      "readlink",
      "dirname",
      "find",
      "mktemp",
      "rm",
      "mv",
      "timeout",
      "curl",
      "id",
      "getconf",
      "hostname",
      "uname",
      "nproc",
      "tee",
      "sleep",
      "base64",
      "ls",
      "chmod",
      "mkdir",
      "truncate",
      "mkfifo",
      "runuser",
      "unzip",
      "cp",
      "od",
      "sh",
    ]) {
      const p = spawnSync("bash", ["-c", `command -v ${t}`], { encoding: "utf8" }).stdout.trim();
      if (p) symlinkSync(p, join(bin, t));
    }
    // The probe as the local runner runs it: assembled (its lib/ includes inlined), then bash -c; its
    // python3 for the direct attach is one nobody owns (the previous describe planted it).
    const assembled = readRunbookScript(join(REPO, "runbooks"), "probes/api-unreachable.sh").replace(
      /^PATH=.*$/m,
      `PATH=${bin}`,
    );
    const planted = join(evil, "jdk/bin/python3");
    const script = assembled.replace(/^ATTACH_PY_CANDIDATES=.*$/m, `ATTACH_PY_CANDIDATES=(${planted})`);
    const r0 = spawnSync(join(bin, "bash"), ["-c", script], {
      env: { PATH: bin, SSM_port: String(ROOT_PORT), SSM_redactPatterns: PATTERNS },
      encoding: "utf8",
      timeout: 120_000,
    });
    const r = parseProbeOutput(r0.stdout ?? "", { target: "local" });
    if (!r.ok) throw r.error;
    for (const s of [r.value.classHistogram, r.value.threads]) {
      expect(s.status).toBe("unavailable");
      if (s.status === "unavailable") {
        expect(s.reason).toMatch(/refused: .*untrusted path: .* owned by uid 65534/);
        expect(s.reason).toContain(
          `no python3 for the direct attach (${planted}: ${planted} is owned by uid 65534, not root)`,
        );
      }
    }
    // The heap needs no JDK tool: the perf-data file is read as data (od), nothing is executed.
    expect(r.value.heap.status, r.value.heap.status === "unavailable" ? r.value.heap.reason : "").toBe("ok");
    expect(markerFiles().filter((m) => /^marker-(0|root)-/.test(m))).toEqual([]);

    // With the host's own python3 (root's), the same JDK-less host gets its histogram and threads.
    const jreOnly = spawnSync(join(bin, "bash"), ["-c", assembled], {
      env: { PATH: bin, SSM_port: String(ROOT_PORT), SSM_redactPatterns: PATTERNS },
      encoding: "utf8",
      timeout: 120_000,
    });
    const j = parseProbeOutput(jreOnly.stdout ?? "", { target: "local" });
    if (!j.ok) throw j.error;
    expect(j.value.classHistogram).toMatchObject({ status: "ok", data: { attachClient: "direct" } });
    expect(j.value.threads.status).toBe("ok");
    expect(markerFiles().filter((m) => /^marker-(0|root)-/.test(m))).toEqual([]);
  }, 180_000);
});
