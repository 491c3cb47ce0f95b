import { fileURLToPath } from "node:url";

/** Repository paths, resolved from this file so synth works from any working directory. */
export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
export const handlerEntry = (name: string) =>
  fileURLToPath(new URL(`../lambdas/handlers/${name}.ts`, import.meta.url));
export const RUNBOOKS_DIR = fileURLToPath(new URL("../runbooks", import.meta.url));
export const LOCK_FILE = fileURLToPath(new URL("../package-lock.json", import.meta.url));
