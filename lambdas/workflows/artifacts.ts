import type { WorkflowDeps } from "./deps.js";
import type { Recorder } from "./recorder.js";

/**
 * Artifacts of an execution record: stored under the record's prefix in the artifact store and listed
 * in the record (name, uri, sha256, bytes), so the record always says where each file is.
 */

/** Output kept in the record when the artifact store cannot take it (the record stays under its cap). */
const KEPT_IN_RECORD_CHARS = 8_000;

/**
 * Stores an artifact after something already happened on the host (an action's output, a summary):
 * when the store fails, the failure and the start of the text go into the record instead of
 * failing the step, so the record still says what ran. Returns null when not stored.
 */
export async function keepArtifact(deps: WorkflowDeps, rec: Recorder, name: string, body: string) {
  try {
    return await storeArtifact(deps, rec, name, body);
  } catch (e) {
    const err = errorInfo(e);
    const kept = body.length > KEPT_IN_RECORD_CHARS ? `${body.slice(0, KEPT_IN_RECORD_CHARS)}…` : body;
    await rec.update((r) => ({
      ...r,
      errors: [
        ...r.errors,
        {
          step: "store-artifact",
          name: "ArtifactNotStored",
          message: `${name} could not be stored (${err.name}: ${err.message}); its first ${Math.min(body.length, KEPT_IN_RECORD_CHARS)} of ${body.length} characters follow:\n${kept}`,
        },
      ],
    }));
    return null;
  }
}

export async function storeArtifact(
  deps: WorkflowDeps,
  rec: Recorder,
  name: string,
  body: string,
  type?: string,
) {
  const contentType = type ?? (name.endsWith(".json") ? "application/json" : "text/plain");
  const stored = await deps.artifacts.put(`${rec.artifactPrefix}/${name}`, body, contentType);
  const ref = { name, uri: stored.uri, sha256: stored.sha256, bytes: stored.bytes };
  await rec.update((r) => ({ ...r, artifacts: [...r.artifacts.filter((x) => x.name !== name), ref] }));
  return ref;
}

export function errorInfo(e: unknown): { name: string; message: string } {
  return e instanceof Error ? { name: e.name, message: e.message } : { name: "Error", message: String(e) };
}
