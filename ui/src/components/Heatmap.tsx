import type { JSX } from "preact";
import type { CalendarDay } from "../bindings/CalendarDay";
import { day, money } from "../lib/display";

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

/**
 * The calendar of daily net P&L in the account's time zone: one square per day, coloured by the core's
 * step (−4 … 4); hover shows the day, its P&L and how many trades had an exit that day.
 */
export function Heatmap(p: { days: CalendarDay[]; currency: string }): JSX.Element {
  if (p.days.length === 0) return <p class="muted">No closed trades in this range.</p>;
  const byDate = new Map(p.days.map((d) => [d.date, d]));
  const last = p.days[p.days.length - 1]?.date ?? "";
  const lastDate = new Date(`${last}T00:00:00Z`);
  const first = new Date(lastDate.getTime() - 26 * 7 * 86_400_000).toISOString().slice(0, 10);
  const cols = weeks(first < (p.days[0]?.date ?? first) ? (p.days[0]?.date ?? first) : first, last);
  return (
    <div class="heatmap" role="grid" aria-label="Daily P&L calendar">
      {cols.map((w) => (
        <div class="hm-week" role="row" key={w[0]}>
          {w.map((d) => {
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
  );
}
