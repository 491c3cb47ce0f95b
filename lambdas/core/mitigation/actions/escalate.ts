import { z } from "zod";
import { defineAction } from "./types.js";

/** escalate: stops automatic mitigation and hands the incident to a person with the evidence. */
export default defineAction({
  id: "escalate",
  params: z.object({}).strict(),
  destructive: false,
  command: null,
  escalates: true,
  blocked: () => null,
  describe: () => "Stop automatic mitigation and escalate to a person with the evidence and diagnosis.",
  runs: () => ({ ok: true, runs: [] }),
  summarize: () => "escalated",
});
