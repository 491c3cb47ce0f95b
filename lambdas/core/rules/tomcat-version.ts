/**
 * Tomcat versions and Bugzilla 64848 ("WsSession objects in OUTPUT_CLOSED state are implicitly held by
 * waitingProcessors and GC cannot purge them"), fixed in 8.5.60, 9.0.40 and 10.0.0-M10.
 * 10.1.x and 11.x branched after the fix. Pure functions, table-tested.
 */

export interface TomcatVersion {
  major: number;
  minor: number;
  patch: number;
  /** Pre-release tag of a milestone or release candidate (`M10`, `RC1`), null for a final release. */
  preRelease: { kind: "M" | "RC" | "alpha" | "beta"; n: number } | null;
}

const VERSION_RE = /(\d+)\.(\d+)\.(\d+)(?:[.-]?(M|RC|alpha|beta)(\d+))?/i;

/** Reads `9.0.39`, `10.0.0-M9`, `9.0.0.M26`, `Apache Tomcat/8.5.59`; null when there is no version in it. */
export function parseTomcatVersion(text: string): TomcatVersion | null {
  const m = VERSION_RE.exec(text);
  if (!m) return null;
  const [, major, minor, patch, kind, n] = m;
  const normalizedKind = kind ? normalizeKind(kind) : null;
  return {
    major: Number(major),
    minor: Number(minor),
    patch: Number(patch),
    preRelease: normalizedKind && n !== undefined ? { kind: normalizedKind, n: Number(n) } : null,
  };
}

function normalizeKind(kind: string): "M" | "RC" | "alpha" | "beta" {
  const k = kind.toLowerCase();
  if (k === "m") return "M";
  if (k === "rc") return "RC";
  return k === "alpha" ? "alpha" : "beta";
}

/** Orders pre-releases before the final release: alpha < beta < M < RC < final. */
function preRank(v: TomcatVersion): [number, number] {
  if (!v.preRelease) return [4, 0];
  const order = { alpha: 0, beta: 1, M: 2, RC: 3 } as const;
  return [order[v.preRelease.kind], v.preRelease.n];
}

export function compareTomcatVersions(a: TomcatVersion, b: TomcatVersion): number {
  const keys: Array<[number, number]> = [
    [a.major, b.major],
    [a.minor, b.minor],
    [a.patch, b.patch],
    [preRank(a)[0], preRank(b)[0]],
    [preRank(a)[1], preRank(b)[1]],
  ];
  for (const [x, y] of keys) if (x !== y) return x < y ? -1 : 1;
  return 0;
}

/** The first release of each line that contains the fix for Bugzilla 64848. */
export const BZ64848_FIXED_IN: Readonly<Record<string, string>> = {
  "8.5": "8.5.60",
  "9.0": "9.0.40",
  "10.0": "10.0.0-M10",
};

/**
 * Whether this Tomcat version predates the fix for Bugzilla 64848.
 * - 8.5 / 9.0 / 10.0: compared with the fixed release of the line.
 * - 10.1 and later majors: branched after the fix → false.
 * - 8.0 (end of life in 2018, before the bug was reported) → true.
 * - 7.0 and older: no fixed release is on record here → null (unknown), not a guess.
 * - unparseable → null.
 */
export function predates64848Fix(versionText: string): boolean | null {
  const v = parseTomcatVersion(versionText);
  if (!v) return null;
  const line = `${v.major}.${v.minor}`;
  const fixed = BZ64848_FIXED_IN[line];
  if (fixed !== undefined) {
    const f = parseTomcatVersion(fixed);
    return f ? compareTomcatVersions(v, f) < 0 : null;
  }
  if (v.major > 10 || (v.major === 10 && v.minor >= 1)) return false;
  if (v.major === 8 && v.minor === 0) return true;
  return null;
}
