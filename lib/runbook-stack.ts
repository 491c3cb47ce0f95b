import { Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { ApiUnreachableRunbook, type ApiUnreachableRunbookProps } from "./api-unreachable-runbook.js";

export interface RunbookStackProps extends StackProps {
  readonly runbook?: ApiUnreachableRunbookProps;
}

/** An environment-agnostic stack holding one api-unreachable runbook, with outputs (the construct acknowledges its own nag findings). */
export class RunbookStack extends Stack {
  readonly runbook: ApiUnreachableRunbook;

  constructor(scope: Construct, id: string, props: RunbookStackProps = {}) {
    super(scope, id, props);
    this.runbook = new ApiUnreachableRunbook(this, "ApiUnreachable", props.runbook);
    this.runbook.addOutputs(this);
  }
}
