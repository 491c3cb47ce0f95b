import * as z from "zod";
import { incidentIdSchema, instanceIdSchema, type ProbeState, sentCommandSchema } from "./inputs.js";
import { instrument, logger } from "./instrument.js";
import { parseInput } from "./parse.js";
import { env, systemClock } from "./wiring.js";
import { artifactStore } from "./wiring-s3.js";
import { commandRunner } from "./wiring-ssm.js";

const inputSchema = z.object({
  incidentId: incidentIdSchema,
  target: instanceIdSchema,
  probe: z.object({ command: sentCommandSchema, attempt: z.number().int().nonnegative() }),
});

/** Not visible after this long: the agent never picked the command up. */
const APPEAR_WITHIN_MS = 90_000;
/** Reporting lag allowed on top of the probe's own time-out before the loop gives up. */
const GRACE_MS = 120_000;

/**
 * Collect, part 2: one GetCommandInvocation per call; the state machine's Wait state is the backoff
 * (3 s, ×1.6 per attempt, capped at 30 s), so no Lambda sits idle while the probe runs. Bounded by the
 * probe time-out plus grace. On completion the inline stdout is saved as an artifact and only its key
 * travels on.
 */
export const handler = instrument("PollProbe", async (event: unknown): Promise<ProbeState> => {
  const { incidentId, target, probe } = parseInput("PollProbe", inputSchema, event);
  const runner = commandRunner();
  const outcome = await runner.poll(probe.command);
  const elapsed = systemClock.now().getTime() - Date.parse(probe.command.sentAt);
  if (!outcome.done) {
    const e = env();
    const appearWithinMs = (e.SSM_APPEAR_WITHIN_SECONDS ?? APPEAR_WITHIN_MS / 1000) * 1000;
    const graceMs = (e.SSM_GRACE_SECONDS ?? GRACE_MS / 1000) * 1000;
    const neverSeen = outcome.reason === "not-yet-visible" && elapsed > appearWithinMs;
    const tooLong = elapsed > e.PROBE_TIMEOUT_SECONDS * 1000 + graceMs;
    if (!neverSeen && !tooLong) {
      const waitSeconds = Math.min(30, Math.ceil(3 * 1.6 ** (probe.attempt + 1)));
      return {
        done: false,
        command: probe.command,
        attempt: probe.attempt + 1,
        waitSeconds,
        status: outcome.status,
      };
    }
    logger.warn("probe polling gave up", { incidentId, target, elapsed, status: outcome.status });
    // Stop it on the host too: a probe still running after its own time-out is not waited for.
    await runner.cancelQuietly(probe.command);
    return {
      done: true,
      result: {
        status: neverSeen ? "Undeliverable" : "TimedOut",
        exitCode: null,
        stdoutKey: null,
        stdoutTruncated: false,
        outputUri: runner.outputUriOf(probe.command),
        rawOutputUri: null,
        commandId: probe.command.commandId,
        detail: `still ${outcome.status} after ${elapsed} ms; polling stopped and the command was cancelled`,
      },
    };
  }
  const r = outcome.result;
  const stored = r.stdout
    ? await artifactStore().put(
        `${incidentId}/${target}/probe.stdout.txt`,
        r.stdout,
        "text/plain; charset=utf-8",
      )
    : null;
  return {
    done: true,
    result: {
      status: r.status,
      exitCode: r.exitCode,
      stdoutKey: stored?.key ?? null,
      stdoutTruncated: r.stdoutTruncated,
      outputUri: r.outputUri,
      rawOutputUri: runner.outputUriOf({ ...probe.command, step: "raw" }),
      commandId: probe.command.commandId,
      detail: r.detail,
    },
  };
});
