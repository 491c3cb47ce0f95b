import * as z from "zod";

/**
 * A piece of evidence that may not have been collectable on this host.
 * `unavailable` is an expected outcome (no JDK tools, attach refused, permission denied),
 * never an exception: the rest of the collection goes on and the reason is kept.
 */
export const unavailableSchema = z.object({
  status: z.literal("unavailable"),
  reason: z.string().min(1),
});

export function sectionSchema<T extends z.ZodTypeAny>(data: T) {
  return z.discriminatedUnion("status", [z.object({ status: z.literal("ok"), data }), unavailableSchema]);
}

export type Section<T> = { status: "ok"; data: T } | { status: "unavailable"; reason: string };

export const ok = <T>(data: T): Section<T> => ({ status: "ok", data });
export const unavailable = <T = never>(reason: string): Section<T> => ({ status: "unavailable", reason });

export function dataOf<T>(section: Section<T> | undefined): T | undefined {
  return section?.status === "ok" ? section.data : undefined;
}
