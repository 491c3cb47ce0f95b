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

/** Resolves the state machine's Fn::Join DefinitionString into JSON with placeholder ARNs (asl-validator, aws-local-stepfunctions). */
export function resolveDefinition(
  template: Template,
  arnOf: (logicalId: string, kind: "function" | "ref") => string = (id, kind) =>
    kind === "function"
      ? `arn:aws:lambda:eu-west-1:123456789012:function:${id}`
      : `arn:aws:sns:eu-west-1:123456789012:${id}`,
): Record<string, unknown> {
  const sm = Object.values(template.findResources("AWS::StepFunctions::StateMachine"))[0] as {
    Properties: { DefinitionString: unknown };
  };
  const render = (part: unknown): string => {
    if (typeof part === "string") return part;
    const o = part as Record<string, unknown>;
    if (o["Fn::GetAtt"]) {
      const [id] = o["Fn::GetAtt"] as [string, string];
      return arnOf(id, "function");
    }
    if (o.Ref === "AWS::Partition") return "aws";
    if (o.Ref === "AWS::Region") return "eu-west-1";
    if (o.Ref === "AWS::AccountId") return "123456789012";
    if (o.Ref) return arnOf(String(o.Ref), "ref");
    if (o["Fn::Join"]) {
      const [sep, parts] = o["Fn::Join"] as [string, unknown[]];
      return parts.map(render).join(sep);
    }
    throw new Error(`unexpected intrinsic ${JSON.stringify(part)}`);
  };
  return JSON.parse(render(sm.Properties.DefinitionString)) as Record<string, unknown>;
}
