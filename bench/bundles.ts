/** Benchmark 5: Lambda bundle sizes, built by scripts/bundle-sizes.ts (the CDK bundling options). Target < 1 MB each. */
import { BUNDLE_LIMIT_BYTES, measureBundles } from "../scripts/bundle-sizes.js";
import { bounded, mb, type Row } from "./table.js";

export async function benchBundles(log: (s: string) => void): Promise<Row[]> {
  log("bundles: esbuild each Lambda handler");
  const sizes = await measureBundles();
  if (sizes.length === 0) throw new Error("no Lambda handlers found in lambdas/handlers");
  return sizes.map((s) =>
    bounded("5 Lambda bundles", `${s.handler} (index.mjs, without .map)`, s.bytes, BUNDLE_LIMIT_BYTES, mb),
  );
}
