// One client's timeline as a chart (uPlot): pain by location (0–10), leakage and pelvic heaviness
// on the same scale, running minutes per week as bars on their own axis, and every stage or level
// change as a marked vertical line. A table with the same numbers follows the chart for screen
// readers.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

import type { Schemas } from "./api";
import { h, words } from "./dom";

type Entry = Schemas["TimelineEntry"];

/** Leakage on the 0–10 scale of the other symptoms. */
const LEAK: Record<string, number> = { none: 0, drops: 2.5, small: 5, moderate: 7.5, large: 10 };
const COLOURS = ["#b3261e", "#7b1fa2", "#1565c0", "#00695c", "#8d6e00", "#4e342e"];

const day = (date: string): number => Date.parse(`${date}T00:00:00Z`) / 1000;

/** Monday of the date's week, as a date string. */
function weekOf(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  return d.toISOString().slice(0, 10);
}

export interface Series {
  days: number[];
  pain: Map<string, (number | null)[]>;
  leak: (number | null)[];
  heaviness: (number | null)[];
  runMinutes: (number | null)[];
  changes: { at: number; label: string }[];
}

/** The chart's columns from the timeline: one x per day that has anything. */
export function series(items: Entry[]): Series {
  const dates = new Set<string>();
  const minutesByWeek = new Map<string, number>();
  for (const e of items) {
    dates.add(e.date);
    if (e.kind === "session" && e.stage === "jogging" && e.completed) {
      const week = weekOf(e.date);
      minutesByWeek.set(week, (minutesByWeek.get(week) ?? 0) + (e.duration_minutes ?? 0));
      dates.add(week);
    }
  }
  const sorted = [...dates].sort();
  const index = new Map(sorted.map((d, i) => [d, i]));
  const blank = () => sorted.map((): number | null => null);
  const pain = new Map<string, (number | null)[]>();
  const leak = blank();
  const heaviness = blank();
  const runMinutes = blank();
  const moves = new Map<number, { when: string; id: string; to: string }[]>();
  for (const e of items) {
    const i = index.get(e.date) ?? 0;
    if (e.kind === "report") {
      for (const p of e.pain) {
        const column = pain.get(p.location) ?? blank();
        column[i] = Math.max(column[i] ?? 0, p.nrs);
        pain.set(p.location, column);
      }
      if (e.urine_leak) leak[i] = Math.max(leak[i] ?? 0, LEAK[e.urine_leak] ?? 0);
      if (e.pelvic_heaviness != null) heaviness[i] = Math.max(heaviness[i] ?? 0, e.pelvic_heaviness);
    } else if (e.kind === "transition") {
      const { from, to, created_at, id } = e.transition;
      if (from.stage !== to.stage || from.level !== to.level) {
        const level = to.level != null ? ` ${to.level}` : "";
        const at = day(e.date);
        moves.set(at, [...(moves.get(at) ?? []), { when: created_at, id, to: `${words(to.stage)}${level}` }]);
      }
    }
  }
  // Changes of one day share a line, in the order they happened: "walking hills → lunges", or
  // for many, the first and the last with the count.
  const changes = [...moves].map(([at, day]) => {
    // Ids are time-ordered too: they order changes made in one transaction.
    const steps = day
      .sort((a, b) => a.when.localeCompare(b.when) || a.id.localeCompare(b.id))
      .map((m) => m.to);
    const label =
      steps.length <= 2 ? steps.join(" → ") : `${steps[0]} → … → ${steps.at(-1)} (${steps.length} changes)`;
    return { at, label };
  });
  for (const [week, minutes] of minutesByWeek) runMinutes[index.get(week) ?? 0] = minutes;
  return { days: sorted.map(day), pain, leak, heaviness, runMinutes, changes };
}

/** Vertical lines, labelled, at each stage or level change. */
function markers(changes: Series["changes"]): uPlot.Plugin {
  return {
    hooks: {
      draw: (u: uPlot) => {
        const { ctx } = u;
        ctx.save();
        ctx.strokeStyle = "#37474f";
        ctx.fillStyle = "#37474f";
        ctx.setLineDash([4, 4]);
        const px = devicePixelRatio;
        ctx.font = `${12 * px}px sans-serif`;
        const right = u.bbox.left + u.bbox.width;
        let lastX = -Infinity;
        let row = 0;
        for (const c of [...changes].sort((a, b) => a.at - b.at)) {
          const x = u.valToPos(c.at, "x", true);
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
          // Labels close together go one under the other; near the right edge, left of the line.
          const width = ctx.measureText(c.label).width;
          row = x - lastX < width + 8 * px ? row + 1 : 0;
          lastX = x;
          const textX = x + 4 * px + width > right ? x - 4 * px - width : x + 4 * px;
          ctx.fillText(c.label, textX, u.bbox.top + (14 + 14 * row) * px);
        }
        ctx.restore();
      },
    },
  };
}

export function timelineChart(items: Entry[], width: number): HTMLElement {
  const s = series(items);
  const figure = h("figure", { class: "chart" });
  const caption = h(
    "figcaption",
    {},
    "Pain by location, leakage and pelvic heaviness (0–10), running minutes per week, and plan changes.",
  );
  if (s.days.length === 0) {
    figure.append(caption, h("p", {}, "Nothing recorded in these 90 days."));
    return figure;
  }
  const painSeries = [...s.pain.keys()];
  const data: uPlot.AlignedData = [
    s.days,
    ...painSeries.map((loc) => s.pain.get(loc) ?? []),
    s.leak,
    s.heaviness,
    s.runMinutes,
  ];
  const holder = h("div", {
    class: "plot",
    role: "img",
    "aria-label": `Timeline chart: ${painSeries.length} pain locations, leakage, heaviness, weekly running minutes and ${s.changes.length} plan changes`,
  });
  figure.append(caption, holder);
  new uPlot(
    {
      width,
      height: 320,
      plugins: [markers(s.changes)],
      scales: { x: { time: true }, y: { range: [0, 10] }, minutes: { range: (_u, _min, max) => [0, Math.max(max, 10)] } },
      axes: [
        {},
        { label: "0–10", scale: "y" },
        { label: "run minutes / week", scale: "minutes", side: 1, grid: { show: false } },
      ],
      series: [
        {},
        ...painSeries.map((loc, i) => ({
          label: `pain: ${words(loc)}`,
          stroke: COLOURS[i % COLOURS.length] ?? "#b3261e",
          width: 2,
          spanGaps: true,
          points: { show: true },
        })),
        { label: "leakage", stroke: "#0d47a1", dash: [6, 3], spanGaps: true, points: { show: true } },
        { label: "heaviness", stroke: "#6a1b9a", dash: [2, 3], spanGaps: true, points: { show: true } },
        {
          label: "run minutes / week",
          scale: "minutes",
          stroke: "#2e7d32",
          fill: "rgba(46, 125, 50, 0.25)",
          paths: uPlot.paths.bars ? uPlot.paths.bars({ size: [0.6, 40] }) : undefined,
          points: { show: false },
        },
      ],
    },
    data,
    holder,
  );
  return figure;
}
