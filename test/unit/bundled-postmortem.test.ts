import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPostmortemTemplates } from "../../lambdas/adapters/local/template-loader.js";
import { KnowledgeError } from "../../lambdas/core/postmortem/knowledge.js";
import { renderCompiledPostmortem } from "../../lambdas/core/postmortem/render-compiled.js";
import { renderPostmortem } from "../../lambdas/core/postmortem/render-postmortem.js";
import {
  bundledKnowledgeFile,
  bundledTemplatesFile,
  loadLambdaPostmortem,
} from "../../lambdas/workflows/bundled-postmortem.js";
import { loadPostmortemSources } from "../../lambdas/workflows/postmortem.js";
import { writeBundledPostmortem } from "../../lib/lambda-bundle.js";
import { RUNBOOKS_DIR } from "../../lib/paths.js";
import { bundleFolders } from "../support/bundle-folders.js";
import { failedCollectionRecord, websocketSessionLeakRecord } from "../support/record-factory.js";
import { fixtureNames, KNOWLEDGE, loadFixture, model } from "./postmortem/helpers.js";

/**
 * The postmortem a Lambda bundle renders (lib/lambda-bundle.ts, lambdas/workflows/bundled-postmortem.ts):
 * the knowledge read as JSON and the templates precompiled at synth, rendered with Handlebars' runtime
 * only; the same bytes as from the sources.
 */
describe("the postmortem a Lambda bundle reads", () => {
  const folder = bundleFolders("postmortem", "templates");

  it("renders every fixture to the same Markdown, HTML and charts as the template texts", async () => {
    const dir = folder();
    expect(writeBundledPostmortem(dir).sort()).toEqual(
      [bundledKnowledgeFile(dir), bundledTemplatesFile(dir)].sort(),
    );
    // Only what the bundler wrote is there to read: the sources are removed.
    rmSync(join(dir, "postmortem", "knowledge.yaml"));
    rmSync(join(dir, "templates", "partials"), { recursive: true });
    process.env.RUNBOOK_LAMBDA_BUNDLE = "1";
    const bundled = await loadLambdaPostmortem(dir);
    expect(bundled.knowledge).toEqual(KNOWLEDGE);
    const texts = await loadPostmortemTemplates();
    const models = [
      ...fixtureNames().map((name) => model(loadFixture(name))),
      model(failedCollectionRecord()),
      model(websocketSessionLeakRecord()),
    ];
    for (const m of models)
      expect(renderCompiledPostmortem(m, bundled.templates), m.title).toEqual(renderPostmortem(m, texts));
  });

  it("reads the sources when not in a bundle (the tests, the local state machine runs)", async () => {
    delete process.env.RUNBOOK_LAMBDA_BUNDLE;
    const fromSource = await loadLambdaPostmortem(RUNBOOKS_DIR);
    expect(fromSource.knowledge).toEqual(KNOWLEDGE);
    const m = model(websocketSessionLeakRecord());
    expect(renderCompiledPostmortem(m, fromSource.templates)).toEqual(
      renderCompiledPostmortem(m, (await loadPostmortemSources(RUNBOOKS_DIR)).templates),
    );
  });

  it("stops the synth, naming the file, when the knowledge does not validate or a template does not compile", () => {
    const dir = folder();
    writeFileSync(
      join(dir, "postmortem", "knowledge.yaml"),
      "apiVersion: runbook-autopilot/v1\nclasses: 3\n",
    );
    expect(() => writeBundledPostmortem(dir)).toThrow(
      /cannot bundle postmortem\/knowledge\.yaml: .*knowledge\.yaml: /,
    );
    const dir2 = folder();
    writeFileSync(join(dir2, "templates", "partials", "md", "summary.hbs"), "{{#if}}unclosed");
    expect(() => writeBundledPostmortem(dir2)).toThrow(
      /cannot bundle the templates in .*templates: template postmortem\.md \(partial md\/summary\): /,
    );
  });

  it("is refused, naming the file and the field, when the bundled JSON is not valid knowledge", async () => {
    const dir = folder();
    writeBundledPostmortem(dir);
    const file = bundledKnowledgeFile(dir);
    const doc = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify({ ...doc, classes: { ...(doc.classes as object), unknown: 3 } }));
    process.env.RUNBOOK_LAMBDA_BUNDLE = "1";
    const err = await loadLambdaPostmortem(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KnowledgeError);
    expect(String(err)).toMatch(/knowledge\.json: classes\.unknown: /);
  });

  it("is refused, naming the file, when the precompiled templates are missing or not templates", async () => {
    const dir = folder();
    writeBundledPostmortem(dir);
    process.env.RUNBOOK_LAMBDA_BUNDLE = "1";
    writeFileSync(bundledTemplatesFile(dir), "export default { markdown: {}, html: 3 };\n");
    await expect(loadLambdaPostmortem(dir)).rejects.toThrow(
      /postmortem\.templates\.mjs are invalid: markdown\.main: /,
    );
    // A fresh folder: a module once imported stays in the module cache.
    const dir2 = folder();
    writeBundledPostmortem(dir2);
    rmSync(bundledTemplatesFile(dir2));
    await expect(loadLambdaPostmortem(dir2)).rejects.toThrow(
      /no bundled postmortem templates: .*postmortem\.templates\.mjs \(written at synth/,
    );
  });
});
