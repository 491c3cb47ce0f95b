import { postmortemStep } from "../workflows/state-machine-postmortem.js";
import { awsStateMachineSteps } from "../workflows/state-machine-steps.js";
import { cachedSteps, workflowOptions } from "./workflow-wiring.js";

/** The WritePostmortem Lambda's steps: the workflow steps with the postmortem state (templates, renderer). */
export const postmortemSteps = cachedSteps(
  awsStateMachineSteps({ ...workflowOptions, postmortem: postmortemStep(workflowOptions.runbooksDir) }),
);
