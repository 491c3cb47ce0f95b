import type { Exit } from "../evidence/schema.js";
import type { Fields } from "./probe-document.js";

/** systemd's ExecMainCode (CLD_* of waitid). */
const EXIT_CODES: Record<string, string> = { "1": "exited", "2": "killed", "3": "dumped" };

/** unit.*, oom.*, crash.* groups of collect_exit; a group is null when its first key is absent. */
export function readExit(f: Fields): Exit {
  const code = f.optStr("unit.ExecMainCode");
  return {
    unit:
      f.optStr("unit") === null
        ? null
        : {
            name: f.str("unit"),
            activeState: f.optStr("unit.ActiveState"),
            result: f.optStr("unit.Result"),
            code: code === null ? null : (EXIT_CODES[code] ?? code),
            status: f.optInt("unit.ExecMainStatus"),
            mainPid: f.optInt("unit.ExecMainPID"),
            ageSeconds: f.optInt("unit.ageSeconds"),
            workingDirectory: f.optStr("unit.WorkingDirectory"),
          },
    unitWhy: f.optStr("unitWhy"),
    oomKill:
      f.optStr("oom.pid") === null
        ? null
        : {
            pid: f.int("oom.pid"),
            ageSeconds: f.int("oom.ageSeconds"),
            constraint: f.str("oom.constraint") === "memcg" ? "memcg" : "global",
            anonRssKb: f.optInt("oom.anonRssKb"),
            limitKb: f.optInt("oom.limitKb"),
            line: f.str("oom.line"),
          },
    oomKills: f.optInt("oomKills") ?? 0,
    kernelLogWhy: f.optStr("kernelLogWhy"),
    crash:
      f.optStr("crash.path") === null
        ? null
        : {
            path: f.str("crash.path"),
            pid: f.optInt("crash.pid"),
            ageSeconds: f.int("crash.ageSeconds"),
            error: f.optStr("crash.error"),
            frame: f.optStr("crash.frame"),
          },
    searched: f
      .all("searched")
      .map((e) => e.value)
      .slice(0, 10),
    memTotalKb: f.optInt("memTotalKb"),
  };
}
