import { EXIT_CODES } from "../lambdas/core/incident/record.js";

/**
 * SIGINT and SIGTERM while a command runs: say which signal came, record it (`save`, e.g. the
 * execution record marked interrupted), stop the scripts the command started (their whole process
 * groups), then exit 130. Returns the function that removes the handlers.
 */
export function handleInterrupts(
  stopChildren: (signal: NodeJS.Signals) => Promise<void>,
  save: (signal: NodeJS.Signals) => Promise<void> = async () => undefined,
): () => void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(
      `runbook: interrupted (${signal}); stopping child processes and saving the record\n`,
    );
    save(signal)
      .then(() => stopChildren(signal))
      .catch((e) => process.stderr.write(`runbook: while stopping: ${(e as Error).message}\n`))
      .finally(() => process.exit(EXIT_CODES.interrupted));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return () => {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  };
}
