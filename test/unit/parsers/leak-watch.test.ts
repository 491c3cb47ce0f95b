import { describe, expect, it } from "vitest";
import { parseLeakWatchOutput } from "../../../lambdas/core/parsers/leak-watch.js";

// Captured from runbooks/probes/leak-watch.sh (a lab JVM; then a port nobody listens on).
const OK = `#runbook-leak-watch format=1 version=1.0.0
at=2026-12-02T02:51:50.218Z
port=19500
idleThresholdMs=120000
pid=30085
startTicks=101838
openFds=57
fdLimit=256
established=12
idleEstablished=3
heapOldGenPercent=4.51
unavailable=sessions not sampled: needs a class histogram (SSM_withHistogram=true), which forces a full GC
sessions=
==> end status=ok durationMs=547
`;
const NOBODY = `#runbook-leak-watch format=1 version=1.0.0
at=2026-12-02T02:51:28.856Z
port=1
idleThresholdMs=120000
pid=
startTicks=
unavailable=startTicks no process of this user listens on port 1 (ss -ltnp shows none)
openFds=
unavailable=openFds no process of this user listens on port 1 (ss -ltnp shows none)
fdLimit=
unavailable=fdLimit no process of this user listens on port 1 (ss -ltnp shows none)
established=0
idleEstablished=0
heapOldGenPercent=
unavailable=heapOldGenPercent no process of this user listens on port 1 (ss -ltnp shows none)
unavailable=sessions not sampled: needs a class histogram (SSM_withHistogram=true), which forces a full GC
sessions=
==> end status=ok durationMs=1912
`;

describe("parseLeakWatchOutput", () => {
  it("reads a sample", () => {
    const r = parseLeakWatchOutput(OK);
    expect(r.ok && r.value).toEqual({
      at: "2026-12-02T02:51:50.218Z",
      pid: 30085,
      startTicks: 101838,
      openFds: 57,
      fdLimit: 256,
      established: 12,
      idleEstablished: 3,
      heapOldGenPercent: 4.51,
      sessions: null,
      unavailable: [
        "sessions: not sampled: needs a class histogram (SSM_withHistogram=true), which forces a full GC",
      ],
    });
  });

  it("keeps the reasons of what could not be read", () => {
    const r = parseLeakWatchOutput(NOBODY);
    if (!r.ok) throw r.error;
    expect(r.value.pid).toBeNull();
    expect(r.value.openFds).toBeNull();
    expect(r.value.established).toBe(0);
    expect(r.value.unavailable[0]).toBe(
      "startTicks: no process of this user listens on port 1 (ss -ltnp shows none)",
    );
  });

  it("names the line and what was expected", () => {
    const bad = (text: string) => {
      const r = parseLeakWatchOutput(text);
      return r.ok ? "parsed" : r.error.message;
    };
    expect(bad("hello\n")).toBe(
      "leak-watch: line 1: expected the header '#runbook-leak-watch format=1 version=...', found \"hello\"",
    );
    expect(bad(OK.replace("==> end status=ok durationMs=547\n", ""))).toBe(
      "leak-watch: line 13: expected the last line '==> end status=ok', found \"sessions=\"",
    );
    expect(bad(OK.replace("at=2026-12-02T02:51:50.218Z", "at=yesterday"))).toMatch(
      /^leak-watch: line 2: expected at: .*, found "at=yesterday"$/,
    );
    expect(
      bad(
        "#runbook-leak-watch format=1 version=1.0.0\n==> input status=invalid reason=SSM_port must be a TCP port 1-65535 (got 'x')\n",
      ),
    ).toBe(
      "leak-watch: line 2: expected valid probe inputs, found \"SSM_port must be a TCP port 1-65535 (got 'x')\"",
    );
  });
});
