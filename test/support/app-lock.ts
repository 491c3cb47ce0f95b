import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "./cli.js";

/**
 * A package-lock.json for an app that installs the packed tarball, offline: the npm cache holds the
 * tarballs `npm ci` fetched for this repository, not the registry's metadata, so `npm install --offline`
 * cannot resolve versions; `npm ci --offline` with this lock installs exactly those tarballs by integrity.
 * `dependencies` are the app's (the tarball as `file:../<file>`); `tgz` is the tarball's path.
 */
interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  [k: string]: unknown;
}

/** A lock file for the app: its root, the packed tarball, and every package they reach in this repository's lock. */
export function appLock(appName: string, dependencies: Record<string, string>, tgz: string, file: string) {
  const repoLock = JSON.parse(readFileSync(join(REPO, "package-lock.json"), "utf8")) as {
    packages: Record<string, LockEntry>;
  };
  const packed = repoLock.packages[""] as LockEntry;
  const self: LockEntry = {
    version: String(packed.version),
    resolved: `file:../${file}`,
    integrity: `sha512-${createHash("sha512").update(readFileSync(tgz)).digest("base64")}`,
    license: packed.license,
    dependencies: packed.dependencies,
    peerDependencies: packed.peerDependencies,
    bin: packed.bin,
    engines: packed.engines,
  };
  const lookup = (from: string, dep: string): string | null => {
    let at = from;
    for (;;) {
      const key = at === "" ? `node_modules/${dep}` : `${at}/node_modules/${dep}`;
      if (repoLock.packages[key]) return key;
      if (at === "") return null;
      const i = at.lastIndexOf("/node_modules/");
      at = i < 0 ? "" : at.slice(0, i);
    }
  };
  const keep = new Set<string>();
  const visit = (from: string, deps: Record<string, string>, optional: Set<string>) => {
    for (const dep of Object.keys(deps)) {
      if (dep === "runbook-autopilot") continue;
      const key = lookup(from, dep);
      if (key === null) {
        if (optional.has(dep)) continue;
        throw new Error(`${dep} (needed by ${from || "the app"}) is not in package-lock.json`);
      }
      if (keep.has(key)) continue;
      keep.add(key);
      const e = repoLock.packages[key] as LockEntry;
      const optionalPeers = Object.entries(e.peerDependenciesMeta ?? {}).filter(([, m]) => m.optional);
      visit(
        key,
        { ...e.dependencies, ...e.optionalDependencies, ...e.peerDependencies },
        new Set([...Object.keys(e.optionalDependencies ?? {}), ...optionalPeers.map(([n]) => n)]),
      );
    }
  };
  visit("", { ...dependencies, ...self.dependencies, ...self.peerDependencies }, new Set());
  const packages: Record<string, LockEntry> = {
    "": { name: appName, dependencies },
    "node_modules/runbook-autopilot": self,
  };
  for (const key of [...keep].sort()) {
    const { dev: _d, devOptional, ...entry } = repoLock.packages[key] as LockEntry;
    packages[key] = devOptional ? { ...entry, optional: true } : entry;
  }
  return { name: appName, lockfileVersion: 3, requires: true, packages };
}
