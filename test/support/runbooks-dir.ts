import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { REPO } from "./cli.js";

/** The runbooks folder the Lambdas read (RUNBOOKS_DIR), tuned to the lab's timescale (1 s keep-alive). */
export function labTimescaleRunbooks(): string {
  const dir = mkdtempSync(join(tmpdir(), "runbooks-"));
  cpSync(join(REPO, "runbooks"), dir, { recursive: true });
  const file = join(dir, "api-unreachable.yaml");
  const doc = parseDocument(readFileSync(file, "utf8"));
  doc.setIn(["probe", "idleThresholdMs"], 2000);
  doc.setIn(["thresholds", "httpKeepAliveMs"], 1000);
  doc.setIn(["mitigation", "ladders", "websocket-session-leak", 0, "params", "minIdleSeconds"], 2);
  writeFileSync(file, doc.toString());
  return dir;
}
