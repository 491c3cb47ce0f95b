import { defineHostlessAction } from "./types.js";

/** notify-only: changes nothing on the host; reports the diagnosis to the on-call and stops the ladder. */
export default defineHostlessAction({
  id: "notify-only",
  description: "Change nothing on the host; report the diagnosis to the on-call.",
  summary: "notified",
});
