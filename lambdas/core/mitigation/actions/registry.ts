import type { HostCommand } from "../host-command.js";
import deleteRotatedLogs from "./delete-rotated-logs.js";
import escalate from "./escalate.js";
import heapDump from "./heap-dump.js";
import killIdleConnections from "./kill-idle-connections.js";
import notifyOnly from "./notify-only.js";
import restartService from "./restart-service.js";
import type { ActionModule } from "./types.js";

/**
 * The action registry: every mitigation action the runbooks may name, one module each
 * (lambdas/core/mitigation/actions/<id>.ts). Everything else reads actions from here: the runbook's
 * validation, the planner, the executor, the CLI's SSM document list and the SSM documents the stack
 * deploys. Adding an action = one module + `registerAction` (built-ins below); docs/rules.md says how.
 */
export const BUILT_IN_ACTIONS: readonly ActionModule[] = [
  killIdleConnections,
  heapDump,
  restartService,
  notifyOnly,
  escalate,
  deleteRotatedLogs,
];

const registry = new Map<string, ActionModule>(BUILT_IN_ACTIONS.map((m) => [m.id, m]));

export class UnknownActionError extends Error {
  override name = "UnknownActionError";
  constructor(readonly id: string) {
    super(`unknown action "${id}": expected one of ${[...registry.keys()].join(" | ")}`);
  }
}

/** Adds an action (an extension's own, or a test's). Its id must be new and kebab-case. */
export function registerAction(m: ActionModule): void {
  if (!/^[a-z][a-z0-9-]*$/.test(m.id)) throw new Error(`action id "${m.id}": expected kebab-case`);
  if (registry.has(m.id)) throw new Error(`action "${m.id}" is already registered`);
  if (m.destructive && !m.command) throw new Error(`action "${m.id}": destructive but has no host command`);
  registry.set(m.id, m);
}

/** Removes an action registered with `registerAction` (tests clean up after themselves). Built-ins stay. */
export function unregisterAction(id: string): void {
  if (BUILT_IN_ACTIONS.some((m) => m.id === id)) throw new Error(`action "${id}" is built in`);
  registry.delete(id);
}

export function isActionId(id: string): boolean {
  return registry.has(id);
}

export function actionIds(): string[] {
  return [...registry.keys()];
}

export function actionModule(id: string): ActionModule {
  const m = registry.get(id);
  if (!m) throw new UnknownActionError(id);
  return m;
}

/** Every action's host command (the ones with a script), in registration order. */
export function actionCommands(): HostCommand[] {
  return [...registry.values()].flatMap((m) => (m.command ? [m.command] : []));
}

/** Whether an action changes the host (as opposed to only telling people): the registry says. Unknown ids: false. */
export function changesHost(id: string): boolean {
  return registry.get(id)?.destructive ?? false;
}
