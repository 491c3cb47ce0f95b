import type { Clock } from "../../../lambdas/ports/index.js";

/** A clock whose sleep advances time instantly and records each wait. */
export class FakeClock implements Clock {
  readonly sleeps: number[] = [];
  private ms: number;
  constructor(start = "2024-05-02T17:05:00.000Z") {
    this.ms = Date.parse(start);
  }
  now(): Date {
    return new Date(this.ms);
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.ms += ms;
  }
}
