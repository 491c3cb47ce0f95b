import * as z from "zod";
import { count } from "./count-schema.js";

/** Traces a process that is gone left behind: why it exited (collected when nothing runs on the port). */
export const exitSchema = z.object({
  /** The systemd unit asked about (SSM_service), and what systemd says of its last run. */
  unit: z
    .object({
      name: z.string(),
      activeState: z.string().nullable(),
      result: z.string().nullable(),
      /** `exited`, `killed` or `dumped` (systemd's ExecMainCode). */
      code: z.string().nullable(),
      /** Exit status, or the signal number when killed. */
      status: z.number().int().nullable(),
      mainPid: z.number().int().nonnegative().nullable(),
      ageSeconds: z.number().nonnegative().nullable(),
      workingDirectory: z.string().nullable(),
    })
    .nullable(),
  /** Why systemd could not be asked (no unit given, systemd not running...). */
  unitWhy: z.string().nullable(),
  /** The newest kernel OOM kill of a JVM (`Killed process N (java)`). */
  oomKill: z
    .object({
      pid: z.number().int().positive(),
      ageSeconds: z.number().nonnegative(),
      /** `memcg` (a memory cgroup's limit) or `global` (the host ran out). */
      constraint: z.enum(["memcg", "global"]),
      anonRssKb: count.nullable(),
      /** The cgroup's limit from the kernel's report, kB. */
      limitKb: count.nullable(),
      line: z.string(),
    })
    .nullable(),
  /** JVM OOM kills in the kernel log (all of them, however old). */
  oomKills: count,
  /** Why the kernel log could not be read, when it could not. */
  kernelLogWhy: z.string().nullable(),
  /** The newest `hs_err_pid*.log` in the folders searched. */
  crash: z
    .object({
      path: z.string(),
      pid: z.number().int().positive().nullable(),
      ageSeconds: z.number().nonnegative(),
      /** The error line: `SIGSEGV (0xb) at pc=...`, `Internal Error ...`, `Out of Memory Error ...`. */
      error: z.string().nullable(),
      /** The line after `# Problematic frame:`. */
      frame: z.string().nullable(),
    })
    .nullable(),
  /** The folders searched for crash files. */
  searched: z.array(z.string()).max(10),
  /** MemTotal of the host, kB. */
  memTotalKb: count.nullable(),
});
