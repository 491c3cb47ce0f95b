import type { Redactor } from "../core/redact/index.js";
import type { ArtifactStore, CommandRunner, IncidentStore } from "../ports/index.js";

/**
 * The writers of the workflows, redacting: every command result is redacted when it arrives, every
 * text artifact before it is stored (so its sha256 is the stored text's), and every execution record
 * before it is saved, with `redaction: {rules, markers}` (the `[REDACTED]` markers the saved record
 * holds). The probe already redacted on the host; this is the second pass with the same rules.
 */
export function redactingPorts<
  D extends {
    readonly runner: CommandRunner;
    readonly artifacts: ArtifactStore;
    readonly incidents: IncidentStore;
  },
>(deps: D, redactor: Redactor): D {
  const { runner, artifacts, incidents } = deps;
  return {
    ...deps,
    runner: {
      run: async (target, request) => {
        const r = await runner.run(target, request);
        return { ...r, stdout: redactor.text(r.stdout).text, stderr: redactor.text(r.stderr).text };
      },
    } satisfies CommandRunner,
    artifacts: {
      put: (key, body, contentType) =>
        artifacts.put(key, redactBody(redactor, body, contentType), contentType),
      get: (key) => artifacts.get(key),
      getUri: (uri) => artifacts.getUri(uri),
    } satisfies ArtifactStore,
    incidents: new Proxy(incidents, {
      get(target, prop, receiver) {
        if (prop === "save")
          return (id: string, record: unknown) => incidents.save(id, redactRecord(redactor, record));
        const v = Reflect.get(target, prop, receiver);
        return typeof v === "function" ? v.bind(target) : v;
      },
    }),
  };
}

const TEXTUAL = /^(text\/|application\/(json|xml|x-ndjson)|image\/svg)/;

function redactBody(redactor: Redactor, body: string | Uint8Array, contentType: string): string | Uint8Array {
  if (typeof body === "string") return redactor.text(body).text;
  if (!TEXTUAL.test(contentType)) return body;
  return new TextEncoder().encode(redactor.text(new TextDecoder().decode(body)).text);
}

/** The record with every string redacted and the count of markers it holds. */
export function redactRecord(redactor: Redactor, record: unknown): unknown {
  const { value } = redactor.deep(record);
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const markers = (JSON.stringify(value).match(/\[REDACTED\]/g) ?? []).length;
  return { ...value, redaction: { rules: redactor.rules.length, markers } };
}
