import * as z from "zod";
import { count } from "./count-schema.js";

/** One filesystem the service writes to (`df -P -k` and `df -P -i` of a path on it). */
export const filesystemSchema = z.object({
  /** Why it was checked: `log` (the app's log), `tmp` (java.io.tmpdir), `cwd` (the JVM's working folder). */
  role: z.enum(["log", "tmp", "cwd"]),
  path: z.string(),
  mount: z.string(),
  sizeKb: count,
  availKb: count,
  usedPercent: z.number().min(0).max(100),
  /** Inodes in use, percent (null: the filesystem has no inode count, e.g. btrfs). */
  inodesUsedPercent: z.number().min(0).max(100).nullable(),
});

/** Disk space where the service writes: its log, temp and working folders' filesystems. */
export const diskSchema = z.object({
  filesystems: z.array(filesystemSchema).max(6),
  /** The top space users of the fullest filesystem (`du -x`, depth- and time-bounded), largest first. */
  topUsers: z.array(z.object({ path: z.string(), kb: count })).max(12),
  /** The folder `du` walked (the fullest filesystem's mount), null when no filesystem was full enough. */
  duRoot: z.string().nullable(),
  /** `du` ran out of its time box: the list covers what it walked. */
  duTimedOut: z.boolean(),
});
