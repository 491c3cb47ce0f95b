import * as z from "zod";

/** A count in the evidence: a whole number, never negative. */
export const count = z.number().int().nonnegative();
