import { pidRefusal } from "../lambdas/adapters/local/process-table.js";
import { UsageError } from "./errors.js";

/**
 * Checks made before anything runs (no incident, no probe): each failure is one line and exit 2.
 */

/** `--pid` on this machine must own the port's listener (or be its launcher's child), never PID 1. */
export async function checkPid(o: { target: string; port: number; pid?: number | undefined }): Promise<void> {
  if (o.pid === undefined || o.target !== "local") return;
  const refusal = await pidRefusal(o.pid, o.port);
  if (refusal) throw new UsageError(`--pid ${o.pid}: ${refusal}`);
}
