import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { awsStateMachineSteps } from "../../lambdas/workflows/state-machine-steps.js";
import type { PostmortemInput, StateMachineStepsDeps } from "../../lambdas/workflows/step-contract.js";
import { REPO_ROOT } from "../../lib/paths.js";
import { bundleParts, handlerNames } from "../../scripts/bundle-sizes.js";

/**
 * What the Lambda bundles carry (sizes, not times: the bundle sizes and the import times are measured and
 * printed by `npm run bench -- --only bundles,lambda-init`, docs/benchmarks.md).
 */

/** The handler names the constructs deploy, read from lib/: `fn("Id", "name", ...)` and `handlerName: "name"`. */
function deployedHandlers(): string[] {
  const names = new Set<string>();
  for (const f of readdirSync(join(REPO_ROOT, "lib")).filter((f) => f.endsWith(".ts"))) {
    const text = readFileSync(join(REPO_ROOT, "lib", f), "utf8");
    for (const m of text.matchAll(/\bfn\(\s*"[A-Za-z]+",\s*"([a-z-]+)"/g)) names.add(m[1] ?? "");
    for (const m of text.matchAll(/\bhandlerName:\s*"([a-z-]+)"/g)) names.add(m[1] ?? "");
  }
  return [...names].sort();
}

const bytesOf = (parts: { name: string; bytes: number }[], name: string) =>
  parts.find((p) => p.name === name)?.bytes ?? 0;

describe("Lambda bundles", () => {
  it("the bundle-size bench measures every Lambda the constructs deploy, and only those", () => {
    const deployed = deployedHandlers();
    expect(deployed.length).toBeGreaterThanOrEqual(13);
    expect(handlerNames()).toEqual(deployed);
  });

  it("carry zod's English locale only, and the postmortem renderer only in WritePostmortem", () => {
    const diagnose = bundleParts("diagnose");
    const postmortem = bundleParts("write-postmortem");
    for (const parts of [diagnose, postmortem]) {
      // All of zod's locales are ~195 KB; English alone ~2.7 KB (namespace imports, biome.json).
      expect(bytesOf(parts, "zod/v4/core")).toBeGreaterThan(0);
      expect(bytesOf(parts, "zod/v4/locales")).toBeLessThan(5_000);
    }
    expect(bytesOf(postmortem, "handlebars")).toBeGreaterThan(0);
    expect(bytesOf(diagnose, "handlebars")).toBe(0);
    expect(bytesOf(diagnose, "core/postmortem")).toBe(0);
  }, 60_000);

  it("steps built without the postmortem state say so when asked for a postmortem", async () => {
    const unused = new Proxy({} as StateMachineStepsDeps, {
      get: (_, p) => {
        throw new Error(`the deps were used (${String(p)}) before the missing step was reported`);
      },
    });
    const steps = awsStateMachineSteps({ runbooksDir: "/nonexistent", runbookId: "x", rawDirBase: "/tmp" })(
      unused,
    );
    await expect(steps.writePostmortem({} as PostmortemInput)).rejects.toThrow(
      /built without the postmortem step/,
    );
  });
});
