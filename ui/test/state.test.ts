import { describe, expect, it } from "vitest";
import { chartTimes, minorToText } from "../src/components/EquityChart";
import { monthLabels, weeks, yearsOf } from "../src/components/Heatmap";
import { day, dayIn, separators, when } from "../src/lib/display";
import { wholeNumber } from "../src/lib/int";
import { METRICS } from "../src/lib/metrics";
import { loadPrefs } from "../src/state";
import { readFileSync } from "node:fs";
import type { Stats } from "../src/bindings/Stats";

describe("preferences", () => {
  it("default to the system theme, ISO dates and the CLI's separators", () => {
    expect(loadPrefs(null), "no storage").toEqual({ theme: "system", dates: "iso", numbers: "comma-dot" });
  });
  it("ignore stored values they do not know", () => {
    const store = { getItem: () => JSON.stringify({ theme: "neon", dates: "us", numbers: 7 }) };
    expect(loadPrefs(store), "only known values are kept").toEqual({
      theme: "system",
      dates: "us",
      numbers: "comma-dot",
    });
    expect(loadPrefs({ getItem: () => "{not json" }), "broken JSON is the default").toEqual(loadPrefs(null));
  });
});

describe("display preferences change characters, never values", () => {
  it("swaps separators", () => {
    expect(separators("-$1,234,567.89", "comma-dot")).toBe("-$1,234,567.89");
    expect(separators("-$1,234,567.89", "dot-comma")).toBe("-$1.234.567,89");
    expect(separators("1,234.5", "space-comma")).toBe("1\u202f234,5");
  });
  it("writes days in the chosen order", () => {
    expect(day("2026-03-09", "iso")).toBe("2026-03-09");
    expect(day("2026-03-09", "us")).toBe("03/09/2026");
    expect(day("2026-03-09", "eu")).toBe("09.03.2026");
    expect(day(null, "iso"), "missing").toBe("—");
  });
  it("shows an instant in the account's time zone (DST aware)", () => {
    // 03:30 UTC on 03-09 is 23:30 on 03-08 in New York (EDT starts 03-08 at 02:00).
    expect(when("2026-03-09T03:30:00Z", "America/New_York", "iso")).toBe("2026-03-08 23:30");
    expect(when("2026-03-09T03:30:00Z", "Asia/Tokyo", "eu")).toBe("09.03.2026 12:30");
    expect(when("garbage", "UTC", "iso"), "not a time: shown as it came").toBe("garbage");
    expect(dayIn("2026-12-05T00:25:00Z", "America/New_York"), "evening in New York is still the 4th").toBe(
      "2026-12-04",
    );
    expect(dayIn("2026-12-05T00:25:00Z", "Asia/Tokyo"), "morning of the 5th in Tokyo").toBe("2026-12-05");
  });
});

describe("the equity chart's coordinates", () => {
  it("writes integer minor units back as decimal text", () => {
    expect(minorToText(123456, 2)).toBe("1234.56");
    expect(minorToText(-5, 2)).toBe("-0.05");
    expect(minorToText(1234, 0)).toBe("1234");
    expect(minorToText(1234, 3)).toBe("1.234");
    expect(minorToText(0, 2)).toBe("0.00");
  });
  it("gives strictly increasing times even for trades closed in the same second", () => {
    const p = (time: string | null, plot: number) => ({
      time,
      day: null,
      equity: "0",
      plot,
      trade_id: null,
      net_pnl: null,
    });
    const t = chartTimes([
      p(null, 1),
      p("2026-03-09T15:00:00Z", 2),
      p("2026-03-09T15:00:00Z", 3),
      p("2026-03-09T14:00:00Z", 4),
    ]);
    expect(
      t.map((x) => x.value),
      "every point kept",
    ).toEqual([1, 2, 3, 4]);
    const times = t.map((x) => x.time);
    expect(times, "strictly increasing").toEqual([...new Set(times)].sort((a, b) => a - b));
  });
});

describe("the calendar", () => {
  it("lays days out in Monday-first weeks", () => {
    const w = weeks("2026-03-04", "2026-03-16");
    expect(w[0]?.[0], "starts on the Monday before").toBe("2026-03-02");
    expect(
      w.every((x) => x.length === 7),
      "full weeks",
    ).toBe(true);
    expect(w.flat(), "covers the last day").toContain("2026-03-16");
    expect(weeks("2026-03-16", "2026-03-01"), "a reversed range is empty").toEqual([]);
  });

  it("shows a whole year: 53 or 54 Monday-first columns, each month named over the column of its 1st", () => {
    const w = weeks("2024-01-01", "2024-12-31");
    expect(w[0]?.[0], "2024 starts on a Monday").toBe("2024-01-01");
    expect(w.flat(), "the year's last day is in the grid").toContain("2024-12-31");
    const labels = monthLabels(w, 2024);
    expect(
      labels.map((l) => l.label),
      "all twelve months, in order",
    ).toEqual(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]);
    expect(labels[0]?.col, "January over the first column").toBe(0);
    expect(labels[1]?.col, "1 Feb 2024 (a Thursday) is in the fifth week").toBe(4);
    const w23 = weeks("2023-01-01", "2023-12-31");
    expect(w23[0]?.[0], "1 Jan 2023 (a Sunday) sits in the week from Monday 26 Dec 2022").toBe("2022-12-26");
    expect(monthLabels(w23, 2023)[0], "the previous year's days name no month").toEqual({
      col: 0,
      label: "Jan",
    });
  });

  it("offers every year that has an exit, oldest first", () => {
    const d = (date: string) => ({ date, net_pnl: "1", trades: 1, level: 1 });
    expect(yearsOf([d("2026-01-02"), d("2024-12-31"), d("2026-03-01")]), "distinct and sorted").toEqual([
      2024, 2026,
    ]);
    expect(yearsOf([]), "no exits, no years").toEqual([]);
  });
});

describe("small whole numbers are the only numbers read from text", () => {
  it("accepts digits only", () => {
    expect(wholeNumber("12")).toBe(12);
    expect(wholeNumber(" 7 ")).toBe(7);
    expect(wholeNumber("1.5"), "no fractions").toBeNull();
    expect(wholeNumber("-3"), "no signs").toBeNull();
    expect(wholeNumber("1e3"), "no exponents").toBeNull();
    expect(wholeNumber("99", 10), "within range").toBeNull();
  });
});

const metricsDoc = readFileSync(`${process.cwd()}/../docs/metrics.md`, "utf8");

describe("metric definitions on hover", () => {
  it("exist for statistics the core returns and are defined in docs/metrics.md", () => {
    const stats: Record<keyof Stats, true> = {
      trades: true,
      wins: true,
      losses: true,
      breakevens: true,
      win_rate: true,
      net_pnl: true,
      gross_profit: true,
      gross_loss: true,
      total_fees: true,
      avg_win: true,
      avg_loss: true,
      largest_win: true,
      largest_loss: true,
      profit_factor: true,
      expectancy: true,
      expectancy_r: true,
      r_trades: true,
      total_r: true,
      max_drawdown: true,
      max_drawdown_pct: true,
      peak_equity: true,
      ending_equity: true,
      longest_win_streak: true,
      longest_loss_streak: true,
      current_streak: true,
      pnl_by_day: true,
      best_day: true,
      worst_day: true,
    };
    for (const k of Object.keys(METRICS)) {
      if (k === "open_risk") {
        expect(metricsDoc, "open risk is defined in the doc").toContain("Open risk");
        continue;
      }
      expect(k in stats, `${k} is a statistic of the core`).toBe(true);
      expect(metricsDoc, `docs/metrics.md defines ${k}`).toContain(`\`${k}\``);
    }
  });
});
