/**
 * Ports: the only ways the workflows touch the world. Each has a local adapter
 * (shell, folder, JSON file, system clock) and an AWS adapter (SSM, S3, DynamoDB),
 * wired in one composition root per entry point (CLI, Lambda handler).
 */

export type CommandStatus =
  | "Success"
  | "Failed"
  | "TimedOut"
  | "Cancelled"
  | "Undeliverable"
  | "AccessDenied"
  | "Terminated";

export interface CommandRequest {
  /** Short name for logs and artifact keys (`probe`, `kill-idle-connections`). */
  readonly name: string;
  /** The script it runs, relative to the runbooks folder (`actions/restart-service.sh`). */
  readonly scriptPath: string;
  /**
   * The script text, for runners that run text (bash locally): the same bytes the SSM document was
   * generated from. Null for runners that run their own copy (SSM: the document named after `name`).
   */
  readonly script: string | null;
  /** Parameters, exposed to the script as environment variables `SSM_<name>` (SSM ENV_VAR interpolation). */
  readonly parameters: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

export interface CommandResult {
  readonly status: CommandStatus;
  readonly exitCode: number | null;
  /** Inline stdout; SSM cuts it at 24,000 characters. */
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutTruncated: boolean;
  readonly durationMs: number;
  /** Where the complete output lives when the inline copy is cut (s3://..., file://...). */
  readonly outputUri: string | null;
  /** Extra, adapter-specific detail (SSM CommandId, status details). */
  readonly detail: string | null;
}

export interface CommandRunner {
  /** Runs on one target. Expected failures are results, not throws. */
  run(target: string, request: CommandRequest): Promise<CommandResult>;
}

export interface StoredArtifact {
  readonly key: string;
  readonly uri: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly contentType: string;
}

export interface ArtifactStore {
  put(key: string, body: string | Uint8Array, contentType: string): Promise<StoredArtifact>;
  get(key: string): Promise<string | null>;
  /**
   * Reads a whole output by the URI a `CommandResult.outputUri` names (SSM's full copy when its inline
   * stdout was cut): `s3://` on AWS, `file://` under the folder locally. Null when there is none.
   */
  getUri(uri: string): Promise<string | null>;
}

export interface LockResult {
  readonly acquired: boolean;
  /** When not acquired: who holds it and until when. */
  readonly heldBy: string | null;
  readonly until: string | null;
  /** When not acquired: the holder's run is still going (a concurrent run), not just its cooldown. */
  readonly inProgress?: boolean;
  /** When acquired by breaking a stale lock: what was broken and why (kept in the record). */
  readonly note?: string | null;
}

export interface IncidentStore {
  /**
   * Opens an incident once per dedupe key (alarm name + state-change time).
   * Returns false when an incident with that key already exists.
   */
  open(dedupeKey: string, incidentId: string, at: string): Promise<{ created: boolean; incidentId: string }>;
  save(incidentId: string, record: unknown): Promise<void>;
  load(incidentId: string): Promise<unknown | null>;
  /** Mitigation cooldown and lock per target: acquire for `ttlMs`, or learn who holds it. */
  acquireTargetLock(target: string, owner: string, nowIso: string, ttlMs: number): Promise<LockResult>;
  releaseTargetLock(target: string, owner: string): Promise<void>;
}

export interface Clock {
  now(): Date;
  sleep(ms: number): Promise<void>;
}
