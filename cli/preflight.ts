import { mkdir, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { pidRefusal } from "../lambdas/adapters/local/process-table.js";
import { PROBE_DOCUMENT } from "../lib/document-parameters.js";
import { UsageError } from "./errors.js";

/**
 * Checks made before anything runs (no incident, no probe): each failure is one line and exit 2.
 */

/** `--pid` on this machine must own the port's listener (or be its launcher's child), never PID 1. */
export async function checkPid(o: { target: string; port: number; pid?: number | undefined }): Promise<void> {
  if (o.pid === undefined || o.target !== "local") return;
  const refusal = await pidRefusal(o.pid, o.port);
  if (refusal) throw new UsageError(`--pid ${o.pid}: ${refusal}`);
}

/** `--out` must be a folder this user can create and write in: checked with a real write. */
export async function checkWritableDir(flag: string, dir: string): Promise<void> {
  const abs = resolve(dir);
  const probe = join(abs, `.runbook-write-check-${process.pid}`);
  try {
    await makeDirs(abs);
    await writeFile(probe, "", { flag: "wx" });
    await rm(probe, { force: true });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new UsageError(`${flag} ${dir}: not a folder this user can write (${err.code ?? err.message})`, {
      cause: e,
    });
  }
}

/**
 * `mkdir -p` that ends: Node's `mkdir(..., { recursive: true })` never settles for a path under a folder
 * that exists but refuses creation with ENOENT (`/proc/nope`: it retries the parent, finds it, and tries
 * the child again, forever). Here each folder is tried once, from the nearest existing ancestor down.
 */
export async function makeDirs(abs: string): Promise<void> {
  try {
    await mkdir(abs);
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") {
      if ((await stat(abs)).isDirectory()) return;
      throw e;
    }
    const parent = dirname(abs);
    if (code !== "ENOENT" || parent === abs) throw e;
    await makeDirs(parent);
  }
  // The parent exists now: one more try; ENOENT again (a folder that refuses creation) is thrown.
  await mkdir(abs).catch(async (e: NodeJS.ErrnoException) => {
    if (e.code !== "EEXIST" || !(await stat(abs)).isDirectory()) throw e;
  });
}

/** `--templates` must name an existing folder (a typo must not silently fall back to the defaults). */
export async function checkExistingDir(flag: string, dir: string): Promise<void> {
  const s = await stat(dir).catch(() => null);
  if (!s) throw new UsageError(`${flag} ${dir}: no such folder`);
  if (!s.isDirectory()) throw new UsageError(`${flag} ${dir}: not a folder`);
}

/** The longest incident id (`newIncidentId`: a 40-character target) and phase, for the length check. */
const LONGEST_RAW_TAIL = `inc-00000000T000000Z-${"x".repeat(40)}-000000/raw/after-relief`;

/**
 * Locally the probe writes raw outputs under `<--out>/<incident>/raw/<phase>`, and validates that folder
 * with the SSM document's rawDir pattern (letters, digits, `. _ - /` and spaces; at most 301 characters).
 * A folder it would refuse is refused here, before anything runs, instead of escalating mid-run.
 */
export function checkRawFolderPath(flag: string, dir: string, target: string): void {
  if (target !== "local") return;
  const abs = resolve(dir);
  const raw = join(abs, LONGEST_RAW_TAIL);
  if (!new RegExp(PROBE_DOCUMENT.parameters.rawDir?.allowedPattern ?? "^$").test(raw)) {
    const bad = [...abs].find((c) => !/[A-Za-z0-9._/ -]/.test(c));
    // Shown on one line: a newline in the path is printed as \n.
    const shown = JSON.stringify(dir).slice(1, -1);
    throw new UsageError(
      bad === undefined
        ? `${flag} ${shown}: too long for the probe's raw folder (${abs.length} characters, at most ${301 - LONGEST_RAW_TAIL.length - 1})`
        : `${flag} ${shown}: the probe's raw folder may contain only letters, digits, spaces and . _ - / (found ${JSON.stringify(bad)})`,
    );
  }
}
