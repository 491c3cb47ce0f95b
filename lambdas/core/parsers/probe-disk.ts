import type { Disk } from "../evidence/schema.js";
import { counted, type Fields } from "./probe-document.js";

const FS_ROLES = ["log", "tmp", "cwd"] as const;

/** `fs=<role> <used%> <availKb> <sizeKb> <inodes%|-> <mount> <path>`, `top=<kb> <path>` (collect_disk). */
export function readDisk(f: Fields): Disk {
  const filesystems = f.all("fs").map((e) => {
    const m = /^(log|tmp|cwd) (\d+) (\d+) (\d+) (\d+|-) (\S+) (.+)$/.exec(e.value);
    const role = FS_ROLES.find((r) => r === m?.[1]);
    if (!m || !role)
      return f.error(
        e.line,
        "fs=<log|tmp|cwd> <used%> <availKb> <sizeKb> <inodes%|-> <mount> <path>",
        e.value,
      );
    return {
      role,
      usedPercent: Math.min(100, Number(m[2])),
      availKb: Number(m[3]),
      sizeKb: Number(m[4]),
      inodesUsedPercent: m[5] === "-" ? null : Math.min(100, Number(m[5])),
      mount: m[6] ?? "",
      path: m[7] ?? "",
    };
  });
  return {
    filesystems: filesystems.slice(0, 6),
    topUsers: counted(f, "top", "path")
      .slice(0, 12)
      .map((e) => ({ kb: e.count, path: e.value })),
    duRoot: f.optStr("duRoot"),
    duTimedOut: f.optStr("duTimedOut") === "true",
  };
}
