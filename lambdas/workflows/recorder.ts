import { beginStep, endStep, interruptRecord, type StepEnd, type StepId } from "../core/incident/record.js";
import type { IncidentRecord, Step } from "../core/incident/schema.js";
import type { Clock, IncidentStore } from "../ports/index.js";

/**
 * Holds the execution record while a workflow runs and saves it after every change, so that a
 * run that dies or is interrupted leaves a record that says where it stopped.
 */
export class Recorder {
  private saving: Promise<void> = Promise.resolve();

  /** Where the record is saved (default: its incident id). */
  readonly storeKey: string;
  /** Prefix of its artifact keys (default: its incident id). */
  readonly artifactPrefix: string;

  constructor(
    private current: IncidentRecord,
    private readonly store: IncidentStore,
    private readonly clock: Clock,
    keys: { storeKey?: string; artifactPrefix?: string } = {},
  ) {
    this.storeKey = keys.storeKey ?? current.incidentId;
    this.artifactPrefix = keys.artifactPrefix ?? current.incidentId;
  }

  get record(): IncidentRecord {
    return this.current;
  }

  now(): string {
    return this.clock.now().toISOString();
  }

  /** Set once the run was interrupted: the record then stays as `interrupt` left it. */
  private interruptedBy: string | null = null;

  async update(fn: (r: IncidentRecord) => IncidentRecord): Promise<void> {
    if (this.interruptedBy) return;
    this.current = fn(this.current);
    await this.save();
  }

  async begin(id: StepId, inputs: Record<string, unknown> = {}): Promise<void> {
    await this.update((r) => beginStep(r, id, this.now(), inputs));
  }

  async end(id: StepId, end: StepEnd): Promise<void> {
    await this.update((r) => endStep(r, id, this.now(), end));
  }

  /** Changes the last step with this id (adds what it decided or who approved it). */
  async patchLastStep(id: StepId, fn: (s: Step) => Step): Promise<void> {
    await this.update((r) => {
      const i = r.steps.findLastIndex((s) => s.id === id);
      const step = r.steps[i];
      if (!step) return r;
      const steps = r.steps.slice();
      steps[i] = fn(step);
      return { ...r, steps };
    });
  }

  /** Ends the record as interrupted (by a signal: `why` names it) and ignores later changes. */
  async interrupt(why: string): Promise<void> {
    if (this.interruptedBy) return;
    this.current = interruptRecord(this.current, this.now(), why);
    this.interruptedBy = why;
    await this.save();
  }

  /** Saves are serialised so an interrupt never races an in-flight save into an older state. */
  save(): Promise<void> {
    const snapshot = this.current;
    this.saving = this.saving.then(() => this.store.save(this.storeKey, snapshot));
    return this.saving;
  }
}
