import type { JSX } from "preact";
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import type { CalendarDay } from "../bindings/CalendarDay";
import { day, money } from "../lib/display";
import { wholeNumber } from "../lib/int";

/** The Monday-first weeks from the first to the last day (UTC calendar arithmetic on dates, not money). */
export function weeks(from: string, to: string): string[][] {
  const start = new Date(`${from}T00:00:00Z`);
  const end = new Date(`${to}T00:00:00Z`);
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || start > end) return [];
  const monday = new Date(start);
  monday.setUTCDate(monday.getUTCDate() - ((monday.getUTCDay() + 6) % 7));
  const out: string[][] = [];
  for (let d = monday; d <= end && out.length < 60;) {
    const week: string[] = [];
    for (let i = 0; i < 7; i++) {
      week.push(d.toISOString().slice(0, 10));
      d = new Date(d.getTime() + 86_400_000);
    }
    out.push(week);
  }
  return out;
}

/** The calendar years that have at least one day in `days`, oldest first. */
export function yearsOf(days: readonly CalendarDay[]): number[] {
  const ys = new Set<number>();
  for (const d of days) {
    const y = wholeNumber(d.date.slice(0, 4), 9999);
    if (y != null) ys.add(y);
  }
  return [...ys].sort((a, b) => a - b);
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * The month names over the columns of one year's weeks: a month is named over the week that holds its
 * first day (the column where the month starts), as GitHub-style calendars do.
 */
export function monthLabels(cols: readonly string[][], year: number): { col: number; label: string }[] {
  const out: { col: number; label: string }[] = [];
  cols.forEach((w, col) => {
    const first = w.find((d) => d.startsWith(`${year}-`) && d.endsWith("-01"));
    if (first) out.push({ col, label: MONTHS[(wholeNumber(first.slice(5, 7), 12) ?? 1) - 1] ?? "" });
  });
  return out;
}

const CELL = 15; // px: a 12 px square and its 3 px gap (styles.css .hm-day)

/**
 * The calendar of daily net P&L in the account's time zone, one calendar year at a time (the year of the
 * last exit first; earlier years through the year buttons): one square per day, coloured by the core's step
 * (−4 … 4); hover or focus shows the day, its P&L and how many trades had an exit that day. Days outside the
 * year are blank; the grid scrolls sideways in a narrow panel and opens at its most recent exit.
 */
export function Heatmap(p: { days: CalendarDay[]; currency: string }): JSX.Element {
  const years = yearsOf(p.days);
  const latest = years[years.length - 1];
  const [picked, setPicked] = useState<number | null>(null);
  const year = picked != null && years.includes(picked) ? picked : latest;
  const scroller = useRef<HTMLDivElement>(null);
  const inYear = year == null ? [] : p.days.filter((d) => d.date.startsWith(`${year}-`));
  const lastOfYear = inYear[inYear.length - 1]?.date ?? "";
  const cols = year == null ? [] : weeks(`${year}-01-01`, `${year}-12-31`);
  const lastCol = cols.findIndex((w) => w.includes(lastOfYear));
  // Open at the year's last exit (its column, its month's name and two more weeks in view) rather than at
  // January.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && lastCol >= 0) el.scrollLeft = Math.max(0, (lastCol + 3) * CELL + 30 - el.clientWidth);
  }, [year, lastCol]);
  if (year == null) return <p class="muted">No closed trades in this range.</p>;
  const byDate = new Map(p.days.map((d) => [d.date, d]));
  const at = years.indexOf(year);
  return (
    <div class="hm">
      {years.length > 1 && (
        <div class="hm-years" role="group" aria-label="Calendar year">
          <button
            class="ghost small"
            aria-label="Previous year"
            disabled={at <= 0}
            onClick={() => setPicked(years[at - 1] ?? year)}
          >
            ‹
          </button>
          <strong aria-live="polite">{year}</strong>
          <button
            class="ghost small"
            aria-label="Next year"
            disabled={at >= years.length - 1}
            onClick={() => setPicked(years[at + 1] ?? year)}
          >
            ›
          </button>
          <span class="muted small">
            {inYear.length} trading day{inYear.length === 1 ? "" : "s"}
          </span>
        </div>
      )}
      <div class="hm-scroll" ref={scroller}>
        <div class="hm-months" aria-hidden="true" style={{ width: `${cols.length * CELL}px` }}>
          {monthLabels(cols, year).map((m) => (
            <span key={m.label} style={{ left: `${m.col * CELL}px` }}>
              {m.label}
            </span>
          ))}
        </div>
        <div class="hm-body">
          <div class="hm-weekdays" aria-hidden="true">
            <span>Mon</span>
            <span />
            <span>Wed</span>
            <span />
            <span>Fri</span>
            <span />
            <span />
          </div>
          <div class="heatmap" role="grid" aria-label={`Daily P&L calendar ${year}`}>
            {cols.map((w) => (
              <div class="hm-week" role="row" key={w[0]}>
                {w.map((d) => {
                  if (!d.startsWith(`${year}-`)) return <div key={d} class="hm-day out" aria-hidden="true" />;
                  const x = byDate.get(d);
                  const label = x
                    ? `${day(d)}: ${money(x.net_pnl, p.currency)}, ${x.trades} trade${x.trades === 1 ? "" : "s"}`
                    : `${day(d)}: no exits`;
                  return (
                    <div
                      key={d}
                      role="gridcell"
                      class={`hm-day lvl${x ? x.level : "none"}`}
                      title={label}
                      aria-label={label}
                    />
                  );
                })}
              </div>
            ))}
          </div>
        </div>
      </div>
      <div class="hm-legend muted small" aria-hidden="true">
        <span>loss</span>
        {[-4, -3, -2, -1, 0, 1, 2, 3, 4].map((l) => (
          <i key={l} class={`hm-day lvl${l}`} />
        ))}
        <span>profit</span>
      </div>
    </div>
  );
}
