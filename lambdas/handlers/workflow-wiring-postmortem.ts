import { postmortemStep } from "../workflows/state-machine-postmortem.js";
import { awsStateMachineSteps } from "../workflows/state-machine-steps.js";
import { notify } from "./wiring-sns.js";
import { cachedSteps, workflowOptions } from "./workflow-wiring.js";

/**
 * The WritePostmortem Lambda's steps: the workflow steps with the postmortem state (templates, renderer),
 * and SNS (a record it cannot close is notified); no host command.
 */
export const postmortemSteps = cachedSteps(
  awsStateMachineSteps({ ...workflowOptions, postmortem: postmortemStep(workflowOptions.runbooksDir) }),
  { notify },
);
