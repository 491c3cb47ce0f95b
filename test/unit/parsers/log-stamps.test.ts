import { describe, expect, it } from "vitest";
import { parseLogScan, stampOf, stampToIso } from "../../../lambdas/core/parsers/logs.js";

describe("log time stamps (the first failure in the log)", () => {
  it.each([
    ["02-Dec-2026 02:37:55.850 SEVERE [Acceptor] Socket accept failed", "02-Dec-2026 02:37:55.850"],
    ["2026-12-02 02:37:55.850 ERROR 1 --- [main] x", "2026-12-02 02:37:55.850"],
    ["2026-12-02T02:37:55.850+01:00  ERROR 1 --- [main] x", "2026-12-02T02:37:55.850+01:00"],
    ["Nov 25, 2026 11:12:08 AM org.apache.tomcat.util.net.Acceptor run", "Nov 25, 2026 11:12:08 AM"],
    ["\tjava.io.IOException: Too many open files", null],
  ])("reads the stamp of %j", (line, stamp) => {
    expect(stampOf(line)).toBe(stamp);
  });

  it.each([
    ["02-Dec-2026 02:37:55.850", "+0000", "2026-12-02T02:37:55.850Z"],
    ["02-Dec-2026 03:37:55.850", "+0100", "2026-12-02T02:37:55.850Z"],
    ["2026-12-02 02:37:55,5", "-0200", "2026-12-02T04:37:55.500Z"],
    ["2026-12-02T02:37:55.850+01:00", "+0000", "2026-12-02T01:37:55.850Z"],
    ["2026-12-02T02:37:55Z", null, "2026-12-02T02:37:55.000Z"],
    ["Nov 25, 2026 11:12:08 PM", "+0000", "2026-11-25T23:12:08.000Z"],
    ["Nov 25, 2026 12:12:08 AM", "+0000", "2026-11-25T00:12:08.000Z"],
    ["02-Dec-2026 02:37:55.850", null, null],
    ["32-Foo-2026 02:37:55", "+0000", null],
  ])("reads %s at offset %s as %s", (stamp, offset, iso) => {
    expect(stampToIso(stamp, offset)).toBe(iso);
  });

  it("dates the first match by the last stamped line before it, as the probe does", () => {
    const log = [
      "02-Dec-2026 02:37:52.257 INFO [main] LabApp started",
      "02-Dec-2026 02:37:55.850 SEVERE [Acceptor] Socket accept failed",
      "\tjava.io.IOException: Too many open files",
      "02-Dec-2026 02:37:55.901 SEVERE [Acceptor] Socket accept failed",
      "\tjava.io.IOException: Too many open files",
    ].join("\n");
    const r = parseLogScan(log, { path: "/x.log", utcOffset: "+0000" });
    expect(r.ok && r.value.firstFailure).toEqual({
      line: 3,
      kind: "tooManyOpenFiles",
      stamp: "02-Dec-2026 02:37:55.850",
      at: "2026-12-02T02:37:55.850Z",
    });
  });
});
