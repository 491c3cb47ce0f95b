import { defineHostlessAction } from "./types.js";

/** escalate: stops automatic mitigation and hands the incident to a person with the evidence. */
export default defineHostlessAction({
  id: "escalate",
  escalates: true,
  description: "Stop automatic mitigation and escalate to a person with the evidence and diagnosis.",
  summary: "escalated",
});
