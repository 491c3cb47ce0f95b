import { existsSync } from "node:fs";
import { join } from "node:path";
import { Annotations, Stack } from "aws-cdk-lib";
import { CfnDocument } from "aws-cdk-lib/aws-ssm";
import { Construct } from "constructs";
import { readRunbookScript } from "../lambdas/workflows/runbook-files.js";
import {
  actionDocuments,
  type CommandDocumentSpec,
  PROBE_DOCUMENT,
  RAW_STEP_SCRIPT,
} from "./document-parameters.js";
import { documentCommands } from "./document-script.js";
import { RUNBOOKS_DIR } from "./paths.js";

export interface RunbookDocumentsProps {
  /** Folder holding `probes/` and `actions/`. @default the repository's runbooks/ */
  readonly runbooksDir?: string;
  /** Also create the action documents (kill-idle-connections, restart-service, check-health). @default true */
  readonly includeActions?: boolean;
}

/** What the runner needs to call a document: its name and the step carrying the result. */
export interface DocumentRef {
  readonly documentName: string;
  readonly step: string;
  /** The script the document was generated from (relative to runbooks/); the runner checks requests name it. */
  readonly script: string;
}

export class MissingScriptError extends Error {
  constructor(path: string, command: string) {
    super(
      `runbook script for "${command}" not found at ${path}: the SSM document is generated from it at synth time`,
    );
    this.name = "MissingScriptError";
  }
}

/**
 * The project's SSM Command documents (schemaVersion 2.2), generated from the script TEXT in runbooks/,
 * assembled (include lines replaced by the included lib/ files: readRunbookScript), so nothing is
 * sourced on the host.
 * Every parameter has an `allowedPattern` and `interpolationType: ENV_VAR`, so values reach the script
 * only as `SSM_<name>` environment variables; the scripts never contain `{{ }}` placeholders (checked).
 */
export class RunbookDocuments extends Construct {
  /** Command name (`probe`, `kill-idle-connections`, ...) → document. */
  readonly refs: Readonly<Record<string, DocumentRef>>;
  /** ARNs of every document, for IAM. */
  readonly documentArns: readonly string[];
  readonly probe: CfnDocument;

  constructor(scope: Construct, id: string, props: RunbookDocumentsProps = {}) {
    super(scope, id);
    const dir = props.runbooksDir ?? RUNBOOKS_DIR;
    const refs: Record<string, DocumentRef> = {};
    const arns: string[] = [];

    const probePath = join(dir, PROBE_DOCUMENT.script);
    let probeScript: string;
    if (existsSync(probePath)) {
      probeScript = readRunbookScript(dir, PROBE_DOCUMENT.script);
    } else {
      // The probe is written alongside this stack; until it lands, a stub that fails loudly on the host.
      Annotations.of(this).addWarningV2("runbook:probe-missing", `probe script missing at ${probePath}`);
      probeScript = 'echo "==> input status=invalid reason=probe-script-missing-at-synth"; exit 2';
    }
    this.probe = this.document("Probe", "probe", PROBE_DOCUMENT, probeScript, [
      { name: "raw", script: RAW_STEP_SCRIPT, timeoutSeconds: 600 },
    ]);
    refs.probe = { documentName: this.probe.ref, step: PROBE_DOCUMENT.step, script: PROBE_DOCUMENT.script };
    arns.push(this.arnOf(this.probe));

    if (props.includeActions ?? true) {
      for (const [command, spec] of Object.entries(actionDocuments())) {
        const path = join(dir, spec.script);
        if (!existsSync(path)) throw new MissingScriptError(path, command);
        const doc = this.document(pascal(command), command, spec, readRunbookScript(dir, spec.script), []);
        refs[command] = { documentName: doc.ref, step: spec.step, script: spec.script };
        arns.push(this.arnOf(doc));
      }
    }
    this.refs = refs;
    this.documentArns = arns;
  }

  private document(
    id: string,
    command: string,
    spec: CommandDocumentSpec,
    script: string,
    extraSteps: { name: string; script: string; timeoutSeconds: number }[],
  ): CfnDocument {
    if (script.includes("{{")) {
      throw new Error(
        `runbook script for "${command}" contains "{{": SSM would interpolate it; use $SSM_<name>`,
      );
    }
    const parameters: Record<string, unknown> = {};
    for (const [name, p] of Object.entries(spec.parameters)) {
      parameters[name] = {
        type: "String",
        description: p.description,
        default: p.default,
        allowedPattern: p.allowedPattern,
        interpolationType: "ENV_VAR",
      };
    }
    const step = (name: string, text: string, timeoutSeconds: number) => ({
      action: "aws:runShellScript",
      name,
      precondition: { StringEquals: ["platformType", "Linux"] },
      inputs: {
        timeoutSeconds: String(timeoutSeconds),
        runCommand: documentCommands(text, `${command}/${name}`),
      },
    });
    return new CfnDocument(this, id, {
      documentType: "Command",
      documentFormat: "JSON",
      updateMethod: "NewVersion",
      content: {
        schemaVersion: "2.2",
        description: spec.description,
        parameters,
        mainSteps: [
          step(spec.step, script, spec.executionTimeoutSeconds),
          ...extraSteps.map((s) => step(s.name, s.script, s.timeoutSeconds)),
        ],
      },
    });
  }

  private arnOf(doc: CfnDocument): string {
    return Stack.of(this).formatArn({ service: "ssm", resource: "document", resourceName: doc.ref });
  }
}

function pascal(s: string): string {
  return s.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase());
}
