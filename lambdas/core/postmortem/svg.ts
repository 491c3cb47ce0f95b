/**
 * Charts as SVG strings, computed from numbers by pure functions. Every piece of text goes
 * through `escapeXml`; presentation is in attributes only (no <style>, no scripts), so the files
 * survive GitHub's SVG sanitiser and inline cleanly into HTML.
 */

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

const FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";
const WIDTH = 680;
const LABEL_X = 12;
const BAR_X = 130;
const BAR_W = 380;
const ROW_H = 34;
const TOP = 40;

const n = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(1));
const thousands = (v: number): string => v.toLocaleString("en-US");

/** "02:50:52" (UTC) under a row's label: every row says when it was measured. */
function rowTime(at: string | undefined): string {
  return at ? new Date(at).toISOString().slice(11, 19) : "";
}

function rowLabel(label: string, at: string | undefined, y: number): string {
  return (
    `<text x="${LABEL_X}" y="${y + 12}" fill="#374151">${escapeXml(label)}</text>` +
    (at
      ? `<text x="${LABEL_X}" y="${y + 26}" font-size="11" fill="#6b7280">${escapeXml(`${rowTime(at)} UTC`)}</text>`
      : "")
  );
}

export interface FdUsageRow {
  readonly label: string;
  /** When this row was measured (ISO). */
  readonly at?: string;
  readonly open: number;
  /** null = unlimited. */
  readonly limit: number | null;
}

/** Colour of a usage fraction: red from 90%, amber from 70%, green below. */
export function usageColour(fraction: number): string {
  if (fraction >= 0.9) return "#dc2626";
  if (fraction >= 0.7) return "#d97706";
  return "#16a34a";
}

function svgOpen(height: number, title: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ` +
    `role="img" font-family="${escapeXml(FONT)}" font-size="13">` +
    `<title>${escapeXml(title)}</title>` +
    `<rect x="0" y="0" width="${WIDTH}" height="${height}" fill="#ffffff"/>` +
    `<text x="${LABEL_X}" y="22" font-size="14" font-weight="600" fill="#111827">${escapeXml(title)}</text>`
  );
}

/** Horizontal gauge per snapshot: open file descriptors against the soft limit. */
export function fdUsageSvg(rows: readonly FdUsageRow[], title = "Open file descriptors vs limit"): string {
  const height = TOP + rows.length * ROW_H + 8;
  const parts = [svgOpen(height, title)];
  rows.forEach((row, i) => {
    const y = TOP + i * ROW_H;
    const fraction = row.limit && row.limit > 0 ? Math.min(1, row.open / row.limit) : 0;
    const used = Math.round(BAR_W * fraction * 10) / 10;
    const label =
      row.limit === null
        ? `${thousands(row.open)} open (no limit)`
        : `${thousands(row.open)} / ${thousands(row.limit)} (${Math.round((row.open / Math.max(1, row.limit)) * 100)}%)`;
    const snap = escapeXml(row.label);
    parts.push(
      `<g data-role="fd-row" data-snapshot="${snap}">`,
      rowLabel(row.label, row.at, y),
      `<rect data-role="fd-track" x="${BAR_X}" y="${y}" width="${BAR_W}" height="20" rx="3" fill="#e5e7eb"/>`,
      used > 0
        ? `<rect data-role="fd-used" x="${BAR_X}" y="${y}" width="${n(used)}" height="20" rx="3" fill="${usageColour(fraction)}"/>`
        : "",
      `<text x="${BAR_X + BAR_W + 10}" y="${y + 14}" fill="#111827">${escapeXml(label)}</text>`,
      "</g>",
    );
  });
  parts.push("</svg>");
  return parts.join("");
}

export interface ConnectionStatesRow {
  readonly label: string;
  readonly at?: string;
  readonly byState: Readonly<Record<string, number>>;
}

/** Display order and colours of `ss` states; anything else is grouped as "other". */
export const STATE_COLOURS: readonly { readonly state: string; readonly colour: string }[] = [
  { state: "ESTAB", colour: "#2563eb" },
  { state: "CLOSE-WAIT", colour: "#dc2626" },
  { state: "TIME-WAIT", colour: "#9ca3af" },
  { state: "FIN-WAIT-1", colour: "#f59e0b" },
  { state: "FIN-WAIT-2", colour: "#fbbf24" },
  { state: "SYN-RECV", colour: "#8b5cf6" },
  { state: "LAST-ACK", colour: "#ec4899" },
  { state: "other", colour: "#6b7280" },
];

function groupStates(byState: Readonly<Record<string, number>>): Map<string, number> {
  const known = new Set(STATE_COLOURS.map((s) => s.state));
  const out = new Map<string, number>();
  for (const [state, count] of Object.entries(byState)) {
    const key = known.has(state) ? state : "other";
    out.set(key, (out.get(key) ?? 0) + count);
  }
  return out;
}

/** One segment of a stacked bar: its data attributes name what it counts. */
interface Segment {
  readonly attrs: string;
  readonly count: number;
  readonly colour: string;
  readonly tooltip: string;
}

/** One stacked bar per snapshot, all on one scale, with a legend: the drawing both charts share. */
function stackedBarsSvg(chart: {
  readonly title: string;
  readonly role: string;
  readonly rows: readonly {
    readonly label: string;
    readonly at?: string;
    readonly segments: readonly Segment[];
  }[];
  readonly totalText: (total: number) => string;
  readonly legend: readonly { readonly label: string; readonly colour: string }[];
}): string {
  const totals = chart.rows.map((r) => r.segments.reduce((a, b) => a + b.count, 0));
  const max = Math.max(1, ...totals);
  const legendY = TOP + chart.rows.length * ROW_H + 6;
  const parts = [svgOpen(legendY + 24, chart.title)];
  chart.rows.forEach((row, i) => {
    const y = TOP + i * ROW_H;
    parts.push(
      `<g data-role="${chart.role}-row" data-snapshot="${escapeXml(row.label)}">`,
      rowLabel(row.label, row.at, y),
    );
    let x = BAR_X;
    for (const seg of row.segments) {
      if (seg.count === 0) continue;
      const w = Math.max(1, Math.round((BAR_W * seg.count * 10) / max) / 10);
      parts.push(
        `<rect data-role="${chart.role}-segment" ${seg.attrs} data-count="${seg.count}" x="${n(x)}" y="${y}" ` +
          `width="${n(w)}" height="20" fill="${seg.colour}"><title>${escapeXml(seg.tooltip)}</title></rect>`,
      );
      x += w;
    }
    parts.push(
      `<text x="${n(x + 8)}" y="${y + 14}" fill="#111827">${escapeXml(chart.totalText(totals[i] ?? 0))}</text>`,
      "</g>",
    );
  });
  let lx = BAR_X;
  for (const { label, colour } of chart.legend) {
    parts.push(
      `<rect x="${lx}" y="${legendY}" width="12" height="12" fill="${colour}"/>`,
      `<text x="${lx + 16}" y="${legendY + 11}" font-size="12" fill="#374151">${escapeXml(label)}</text>`,
    );
    lx += 24 + label.length * 8;
  }
  parts.push("</svg>");
  return parts.join("");
}

/** Stacked bar per snapshot of connections on the port by TCP state, on one scale so "after" looks small. */
export function connectionStatesSvg(
  rows: readonly ConnectionStatesRow[],
  title = "Connections on the port by state",
): string {
  const grouped = rows.map((r) => groupStates(r.byState));
  return stackedBarsSvg({
    title,
    role: "conn",
    rows: rows.map((row, i) => {
      const g = grouped[i] ?? new Map<string, number>();
      return {
        label: row.label,
        at: row.at,
        segments: STATE_COLOURS.map(({ state, colour }) => {
          const count = g.get(state) ?? 0;
          return {
            attrs: `data-state="${escapeXml(state)}"`,
            count,
            colour,
            tooltip: `${state}: ${thousands(count)}`,
          };
        }),
      };
    }),
    totalText: (total) => (total === 0 ? "no connections" : `${thousands(total)} total`),
    legend: STATE_COLOURS.filter((s) => grouped.some((g) => (g.get(s.state) ?? 0) > 0)).map((s) => ({
      label: s.state,
      colour: s.colour,
    })),
  });
}

export interface IdleAgeRow {
  readonly label: string;
  readonly at?: string;
  readonly buckets: readonly { readonly label: string; readonly minMs: number; readonly count: number }[];
}

/** Older buckets darker: a pile that accumulated for a long time shows as dark segments. */
const AGE_COLOURS = ["#bfdbfe", "#93c5fd", "#60a5fa", "#2563eb", "#1e40af", "#172554"];

/** Stacked bar per snapshot of ESTABLISHED connections by idle time (no byte received), one scale. */
export function idleAgeSvg(
  rows: readonly IdleAgeRow[],
  title = "ESTABLISHED connections by idle time",
): string {
  const labels = [...new Set(rows.flatMap((r) => r.buckets.map((b) => b.label)))];
  const colourOf = (i: number) => AGE_COLOURS[Math.min(i, AGE_COLOURS.length - 1)] ?? "#6b7280";
  return stackedBarsSvg({
    title,
    role: "idle",
    rows: rows.map((row) => ({
      label: row.label,
      at: row.at,
      segments: row.buckets.map((b) => ({
        attrs: `data-bucket="${escapeXml(b.label)}"`,
        count: b.count,
        colour: colourOf(labels.indexOf(b.label)),
        tooltip: `idle ${b.label}: ${thousands(b.count)}`,
      })),
    })),
    totalText: (total) => (total === 0 ? "none" : `${thousands(total)} ESTABLISHED`),
    legend: labels.map((label, i) => ({ label, colour: colourOf(i) })),
  });
}
