import { describe, expect, it } from "vitest";
import { chartTimes, minorToText } from "../src/components/EquityChart";
import { weeks } from "../src/components/Heatmap";
import { day, separators, when } from "../src/lib/display";
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
