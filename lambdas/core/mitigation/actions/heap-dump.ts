import { z } from "zod";
import { ABS_PATH_OR_EMPTY, IDENTITY_PARAMETERS, targetIdentity, UINT } from "../host-command.js";
import { defineAction, mainRun } from "./types.js";

/**
 * heap-dump: `jcmd <pid> GC.heap_dump` of the diagnosed JVM (PID and start time, re-checked on the host),
 * run as the JVM's own user, into a fresh per-dump folder under a root-owned base; the dump is made
 * root-only (0600 in a 0700 folder) once written. Refused when the free space there is below
 * `freeSpaceFactor` times the heap in use. The JVM pauses while it is written. The dump stays on the host
 * (it holds whatever the heap held: secrets included); the record names its path. docs/security.md says
 * why the folders are what they are.
 */
export const params = z
  .object({
    /** Base folder of the dumps: root-owned, 0711; each dump gets its own folder below it. */
    dumpDir: z
      .string()
      .regex(/^\/[A-Za-z0-9._/-]{1,200}$/, "expected an absolute path of [A-Za-z0-9._/-]")
      .refine((p) => !`/${p}/`.includes("/../") && !`/${p}/`.includes("/./"), "no . or .. components")
      .default("/var/tmp/runbook-autopilot-heap-dumps"),
    /** Refuse unless the free space at the base is at least this many times the heap in use. */
    freeSpaceFactor: z.number().min(1).max(10).multipleOf(0.1).default(1.2),
    /** Time box of the dump itself. */
    timeoutSeconds: z.number().int().min(10).max(3600).default(600),
  })
  .strict();

const DEFAULTS = params.parse({});

export default defineAction({
  id: "heap-dump",
  params,
  destructive: true,
  command: {
    name: "heap-dump",
    script: "actions/heap-dump.sh",
    description:
      "runbook-autopilot action: jcmd GC.heap_dump of the diagnosed JVM, as its user, into a root-owned folder",
    executionTimeoutSeconds: 3700,
    parameters: {
      ...IDENTITY_PARAMETERS,
      dumpDir: {
        description: "Base folder of the dumps (root-owned, 0711; one 0700 folder per dump)",
        allowedPattern: ABS_PATH_OR_EMPTY,
        default: DEFAULTS.dumpDir,
      },
      freeSpaceFactor: {
        description: "Refuse unless free space >= this x the heap in use",
        allowedPattern: "^[0-9]{1,2}(\\.[0-9])?$",
        default: String(DEFAULTS.freeSpaceFactor),
      },
      timeoutSeconds: {
        description: "Time box of the dump, s",
        allowedPattern: UINT(4),
        default: String(DEFAULTS.timeoutSeconds),
      },
    },
  },
  blocked: (ctx) =>
    !ctx.process.ok
      ? ctx.process.reason
      : ctx.process.pid === null
        ? `nothing ran on port ${ctx.port} when the evidence was taken: no JVM to dump`
        : null,
  describe: (p, ctx) =>
    `Write a heap dump of PID ${ctx.pid ?? "?"} (jcmd GC.heap_dump, live objects, as the JVM's user) into a new folder under ${p.dumpDir}, made root-only once written; refused when free space there is below ${p.freeSpaceFactor}x the heap in use. The JVM pauses while it is written (at most ${p.timeoutSeconds}s).`,
  runs: (p, ctx) => {
    const target = targetIdentity(ctx, `nothing ran on port ${ctx.port}: no JVM to dump`);
    if (!target.ok) return target;
    return mainRun(
      {
        ...target.parameters,
        dumpDir: p.dumpDir,
        freeSpaceFactor: p.freeSpaceFactor.toFixed(1),
        timeoutSeconds: String(p.timeoutSeconds),
      },
      // The size check's attach (15 s), the dump, and the folder's hand-over to root.
      (p.timeoutSeconds + 45) * 1000,
    );
  },
  summarize: (outputs) => {
    const kv = outputs.at(-1)?.kv ?? {};
    return `heap dump written: ${kv.file} (${kv.bytes} bytes in ${kv.seconds}s; heap in use ${kv.heapUsedBytes} bytes, from ${kv.heapUsedFrom}); root-only, kept on the host`;
  },
  details: (kv) => ({
    file: kv.file ?? null,
    bytes: /^\d+$/.test(kv.bytes ?? "") ? Number(kv.bytes) : null,
  }),
});
