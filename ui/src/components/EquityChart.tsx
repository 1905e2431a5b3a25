import type { JSX } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { AreaSeries, createChart, type IChartApi, type UTCTimestamp } from "lightweight-charts";
import type { EquityPoint } from "../bindings/EquityPoint";
import { minorUnits } from "../lib/format";
import { money } from "../lib/display";

/**
 * The equity curve. A chart plots numbers, so it uses each point's `plot` (the equity rounded by the core
 * to whole minor units, an exact integer) divided down for the axis; every label, the axis ticks included,
 * is written back through the shared money rule from integer minor units, never from a float's digits.
 */
export function minorToText(units: number, places: number): string {
  const neg = units < 0;
  const digits = Math.abs(Math.round(units))
    .toString()
    .padStart(places + 1, "0");
  const text = places === 0 ? digits : `${digits.slice(0, -places)}.${digits.slice(-places)}`;
  return neg ? `-${text}` : text;
}

/** Strictly increasing chart times (seconds): trades closed in the same second are spread by a second. */
export function chartTimes(
  points: readonly EquityPoint[],
): { time: UTCTimestamp; value: number; i: number }[] {
  const out: { time: UTCTimestamp; value: number; i: number }[] = [];
  let last = -Infinity;
  const firstTimed = points.find((p) => p.time)?.time;
  points.forEach((p, i) => {
    const iso = p.time ?? (i === 0 && firstTimed ? firstTimed : null);
    if (!iso) return;
    let t = Math.floor(new Date(iso).getTime() / 1000);
    if (i === 0 && !p.time) t -= 86400;
    if (t <= last) t = last + 1;
    last = t;
    out.push({ time: t as UTCTimestamp, value: p.plot, i });
  });
  return out;
}

export function EquityChart(p: { points: EquityPoint[]; currency: string; dark: boolean }): JSX.Element {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<IChartApi | null>(null);
  useEffect(() => {
    if (!el.current) return;
    const places = minorUnits(p.currency);
    const scale = 10 ** places;
    const fg = p.dark ? "#cbd5e1" : "#334155";
    const grid = p.dark ? "#1e293b" : "#e2e8f0";
    const box = el.current;
    // Sized by hand from our own ResizeObserver: the chart's `autoSize` waits for device-pixel box sizes,
    // which WebKitGTK does not report, and would leave the canvases at their default 300×150.
    const c = createChart(box, {
      width: box.clientWidth || 600,
      height: box.clientHeight || 280,
      layout: { background: { color: "transparent" }, textColor: fg, attributionLogo: false },
      grid: { vertLines: { color: grid }, horzLines: { color: grid } },
      rightPriceScale: { borderVisible: false },
      // Room right of the last point, so the last time label (centred on its tick) is not cut by the
      // price scale.
      timeScale: { borderVisible: false, rightOffsetPixels: 24 },
      // An explicit locale: under LANG=C the page reports "C", which Intl (and so the chart) refuses.
      localization: {
        locale: "en-US",
        priceFormatter: (v: number) => money(minorToText(v * scale, places), p.currency),
      },
    });
    const s = c.addSeries(AreaSeries, {
      lineColor: "#14b8a6",
      topColor: "rgba(20,184,166,0.35)",
      bottomColor: "rgba(20,184,166,0.02)",
      lineWidth: 2,
      priceLineVisible: false,
    });
    s.setData(chartTimes(p.points).map((d) => ({ time: d.time, value: d.value / scale })));
    c.timeScale().fitContent();
    chart.current = c;
    const ro = new ResizeObserver(() => {
      if (box.clientWidth > 0 && box.clientHeight > 0) c.resize(box.clientWidth, box.clientHeight);
    });
    ro.observe(box);
    return () => {
      ro.disconnect();
      c.remove();
      chart.current = null;
    };
  }, [p.points, p.currency, p.dark]);
  return <div class="chart" ref={el} role="img" aria-label="Equity curve" />;
}
