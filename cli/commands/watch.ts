import type { Command } from "commander";
import * as z from "zod";
import type { formatProgress, formatWatchText } from "../../lambdas/core/forecast/format.js";
import type { Runbook } from "../../lambdas/core/runbook/schema.js";
import type { Clock, CommandRunner } from "../../lambdas/ports/index.js";
import type { watchTarget } from "../../lambdas/workflows/watch.js";
import { CliError } from "../errors.js";
import { parseOptions, targetOptionsSchema } from "../options.js";

/** `30s`, `2m`, `1h`, `500ms`, or plain seconds → milliseconds. */
const durationSchema = z
  .string()
  .regex(/^\d+(\.\d+)?(ms|s|m|h)?$/, "expected a duration like 30s, 2m, 1h or 500ms")
  .transform((v) => {
    const [, n, unit] = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v) as unknown as [string, string, string?];
    const factor: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
    return Math.round(Number(n) * (factor[unit ?? "s"] ?? 1000));
  });

export const watchOptionsSchema = targetOptionsSchema
  .pick({ target: true, port: true, pid: true, region: true, bucket: true, idleThresholdSeconds: true })
  .extend({
    interval: durationSchema
      .prefault("30s")
      .pipe(z.number().min(1000, "expected at least 1s").max(3_600_000, "expected at most 1h")),
    samples: z.coerce
      .number({ message: "expected a number of samples" })
      .int("expected a whole number")
      .min(2, "expected at least 2 samples")
      .max(100_000, "expected at most 100000 samples")
      .optional(),
    duration: durationSchema.pipe(z.number().min(1000, "expected at least 1s")).optional(),
    withHistogram: z.boolean().default(false),
    output: z.enum(["json", "text"]).default("text"),
  })
  .refine((o) => o.samples === undefined || o.duration === undefined, {
    message: "give --samples or --duration, not both",
    path: ["duration"],
  });

export function registerWatchCommand(program: Command): void {
  program
    .command("watch")
    .description(
      "Sample a JVM service cheaply (fds vs limit, sockets on the port, old gen) and forecast when a leak exhausts it. Changes nothing.",
    )
    .option("--target <target>", "local, or ssm:i-<instance id>", "local")
    .requiredOption("--port <port>", "the application's TCP port")
    .option("--pid <pid>", "the JVM's PID (default: the process listening on the port)")
    .option("--interval <duration>", "time between samples (e.g. 30s, 2m)", "30s")
    .option("--samples <n>", "stop after N samples")
    .option("--duration <duration>", "stop after this long (e.g. 10m); default: until interrupted")
    .option("--with-histogram", "also count WsSession instances (a class histogram: forces a full GC)", false)
    .option(
      "--idle-threshold-seconds <n>",
      "a socket with nothing received for this long is idle; default from the runbook",
    )
    .option("--output <format>", "json or text", "text")
    .option("--region <region>", "AWS region for ssm: targets")
    .option("--bucket <bucket>", "S3 bucket for SSM's full output (ssm: targets)")
    .action(async (raw: Record<string, unknown>) => {
      const o = parseOptions(watchOptionsSchema, raw);
      // Loaded when the command runs, not at start-up: `runbook --version`/`--help` stay fast.
      const [
        { SystemClock },
        { LocalCommandRunner },
        { formatProgress, formatWatchText },
        { LEAK_WATCH_SCRIPT, watchTarget },
        wiring,
      ] = await Promise.all([
        import("../../lambdas/adapters/local/clock.js"),
        import("../../lambdas/adapters/local/command-runner.js"),
        import("../../lambdas/core/forecast/format.js"),
        import("../../lambdas/workflows/watch.js"),
        import("../wiring.js"),
      ]);
      const { loadRunbook, RUNBOOKS_DIR, readRunbookScript, ssmRunner } = wiring;
      const clock = new SystemClock();
      const runbook = await loadRunbook("api-unreachable");
      const script = readRunbookScript(RUNBOOKS_DIR, LEAK_WATCH_SCRIPT);
      const runner =
        o.target === "local"
          ? new LocalCommandRunner()
          : await ssmRunner(
              { runbook: "api-unreachable", target: o.target, region: o.region, bucket: o.bucket },
              clock,
            );
      await watchAndReport(o, {
        runner,
        clock,
        script,
        runbook,
        watchTarget,
        formatProgress,
        formatWatchText,
      });
    });
}

/** What `runbook watch` samples with, loaded when the command runs. */
interface Watching {
  readonly runner: CommandRunner;
  readonly clock: Clock;
  readonly script: string;
  readonly runbook: { readonly probe: Runbook["probe"] };
  readonly watchTarget: typeof watchTarget;
  readonly formatProgress: typeof formatProgress;
  readonly formatWatchText: typeof formatWatchText;
}

/** Samples until done or interrupted (SIGINT/SIGTERM: forecast from the samples so far), then reports. */
async function watchAndReport(o: z.infer<typeof watchOptionsSchema>, w: Watching): Promise<void> {
  const abort = new AbortController();
  const onSignal = () => {
    process.stderr.write("watch: interrupted; forecast from the samples so far\n");
    abort.abort();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const r = await w.watchTarget(
      { runner: w.runner, clock: w.clock, script: w.script, probe: w.runbook.probe },
      {
        target: o.target,
        port: o.port,
        pid: o.pid ?? null,
        idleThresholdMs:
          o.idleThresholdSeconds !== undefined
            ? o.idleThresholdSeconds * 1000
            : w.runbook.probe.idleThresholdMs,
        withHistogram: o.withHistogram,
        intervalMs: o.interval,
        samples: o.samples ?? null,
        durationMs: o.duration ?? null,
        signal: abort.signal,
        onSample: (s, f, i) => process.stderr.write(`${w.formatProgress(s, f, i)}\n`),
        onError: (m, i) => process.stderr.write(`watch: sample ${i + 1} failed: ${m}\n`),
      },
    );
    if (o.output === "json") {
      const doc = {
        samples: r.samples,
        forecast: r.forecast,
        forecasts: r.resources,
        stoppedBy: r.stoppedBy,
        errors: r.errors,
      };
      process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    } else {
      process.stdout.write(`${w.formatWatchText(r)}\n`);
    }
    if (r.samples.length === 0 && r.stoppedBy === "errors") {
      throw new CliError(`watch: no sample could be taken on ${o.target}: ${r.errors.at(-1) ?? ""}`, 1);
    }
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  }
}
