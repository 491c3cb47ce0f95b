import * as z from "zod";

/**
 * One cheap sample of a JVM service (the leak-watch probe's output, parsed): open fds against the
 * limit, ESTABLISHED and idle sockets on the port, old-generation heap, and the WebSocket session count
 * when a class histogram was asked for. A value that could not be read is null.
 */
export const watchSampleSchema = z.object({
  /** When the host took the sample (ISO 8601, UTC). */
  at: z.string().datetime({ offset: true }),
  pid: z.number().int().positive().nullable(),
  /** The process start (`/proc/<pid>/stat` starttime, clock ticks since boot): with the PID, the process identity. */
  startTicks: z.number().int().nonnegative().nullable(),
  openFds: z.number().int().nonnegative().nullable(),
  fdLimit: z.number().int().positive().nullable(),
  established: z.number().int().nonnegative().nullable(),
  /** ESTABLISHED sockets on the port with nothing received for longer than the idle threshold. */
  idleEstablished: z.number().int().nonnegative().nullable(),
  /** Old generation used, % of its maximum capacity. */
  heapOldGenPercent: z.number().min(0).max(100).nullable(),
  /** Instances of the runbook's session classes, summed (Tomcat's `WsSession`, Jetty's `WebSocketSession`, ...; only with a class histogram). */
  sessions: z.number().int().nonnegative().nullable(),
  /** Why some values are null (`field: reason`), empty when all were read. */
  unavailable: z.array(z.string()).default([]),
});
export type WatchSample = z.infer<typeof watchSampleSchema>;

export const RESOURCES = ["fds", "heapOldGen", "sessions"] as const;
export type Resource = (typeof RESOURCES)[number];
