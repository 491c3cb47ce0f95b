import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { RunbookStack, type RunbookStackProps } from "../../../lib/runbook-stack.js";

/** Synthesizes the stack with bundling stubbed (`aws:cdk:bundling-stacks: []`): fast, no esbuild run. */
export function synthRunbook(props: RunbookStackProps = {}): {
  app: App;
  stack: RunbookStack;
  template: Template;
} {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new RunbookStack(app, "RunbookTest", props);
  const template = Template.fromStack(stack);
  return { app, stack, template };
}
