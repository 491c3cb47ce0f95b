import { z } from "zod";
import { defineAction } from "./types.js";

/** notify-only: changes nothing on the host; reports the diagnosis to the on-call and stops the ladder. */
export default defineAction({
  id: "notify-only",
  params: z.object({}).strict(),
  destructive: false,
  command: null,
  blocked: () => null,
  describe: () => "Change nothing on the host; report the diagnosis to the on-call.",
  runs: () => ({ ok: true, runs: [] }),
  summarize: () => "notified",
});
