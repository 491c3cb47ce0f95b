/**
 * Benchmark 5: Lambda bundle sizes, built by scripts/bundle-sizes.ts (the CDK bundling options).
 * Target < 500 KB each (issue 14); the hard limit, enforced by scripts/bundle-sizes.ts, stays 1 MB.
 */
import { LAMBDA_BUNDLE_FILE } from "../lib/lambda-bundle.js";
import { BUNDLE_LIMIT_BYTES, measureBundles } from "../scripts/bundle-sizes.js";
import { bounded, info, kib, mb, type Row } from "./table.js";

export const BUNDLE_TARGET_BYTES = 500_000;

export async function benchBundles(log: (s: string) => void): Promise<Row[]> {
  log("bundles: esbuild each Lambda handler");
  const sizes = await measureBundles();
  if (sizes.length === 0) throw new Error("no Lambda handlers found in lambdas/handlers");
  return [
    info("5 Lambda bundles", "hard limit (scripts/bundle-sizes.ts exits 1 over it)", mb(BUNDLE_LIMIT_BYTES)),
    ...sizes.flatMap((s) => [
      bounded(
        "5 Lambda bundles",
        `${s.handler} (${LAMBDA_BUNDLE_FILE}, without .map)`,
        s.bytes,
        BUNDLE_TARGET_BYTES,
        mb,
      ),
      info(
        "5 Lambda bundles",
        `  ${s.handler}: largest parts`,
        s.parts
          .slice(0, 4)
          .map((p) => `${p.name} ${kib(p.bytes)}`)
          .join(", "),
      ),
    ]),
  ];
}
