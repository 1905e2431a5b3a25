/**
 * What the screens show: the shared number rule (lib/format, identical to the CLI's) with this device's
 * preferred separators, and dates in the preferred order and the account's time zone. Everything takes
 * and returns text; the exact value is kept for tooltips (`exact`).
 */
import { prefs, type DateStyle, type NumberStyle } from "../state";
import * as f from "./format";

/** The rule's `1,234.57` written with the chosen separators (a character swap, never a re-computation). */
export function separators(text: string, style: NumberStyle): string {
  if (style === "comma-dot") return text;
  const group = style === "dot-comma" ? "." : "\u202f";
  return text.replace(/[,.]/g, (c) => (c === "," ? group : ","));
}

const sep = (t: string): string => separators(t, prefs.value.numbers);

export const money = (v: string | null | undefined, ccy: string): string =>
  v == null ? f.dash : sep(f.moneyWithSymbol(v, ccy));
export const moneyPlain = (v: string | null | undefined, ccy: string): string =>
  v == null ? f.dash : sep(f.money(v, ccy));
export const price = (v: string | null | undefined, ccy: string): string =>
  v == null ? f.dash : sep(f.price(v, ccy));
export const qty = (v: string | null | undefined): string => (v == null ? f.dash : sep(f.quantity(v)));
export const pct = (v: string | null | undefined): string => (v == null ? f.dash : `${sep(f.percent(v))}%`);
export const rMultiple = (v: string | null | undefined): string => (v == null ? f.dash : `${sep(f.r(v))} R`);
/** The exact value for a tooltip: `exact 177.33970588 USD`. */
export const exact = (v: string | null | undefined, ccy = ""): string =>
  v == null ? "" : `exact ${v}${ccy ? ` ${ccy}` : ""}`;
export const tone = (v: string | null | undefined): "gain" | "loss" | "flat" => {
  const s = f.signOf(v);
  return s > 0 ? "gain" : s < 0 ? "loss" : "flat";
};

/** `2026-03-09` in the chosen order. */
export function day(iso: string | null | undefined, style: DateStyle = prefs.value.dates): string {
  if (!iso) return f.dash;
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
  if (!m) return iso;
  const [, y, mo, d] = m;
  if (style === "us") return `${mo}/${d}/${y}`;
  if (style === "eu") return `${d}.${mo}.${y}`;
  return `${y}-${mo}-${d}`;
}

/** An instant as day and time in `timeZone` (the account's), in the chosen order. */
export function when(
  rfc3339: string | null | undefined,
  timeZone: string,
  style: DateStyle = prefs.value.dates,
): string {
  if (!rfc3339) return f.dash;
  const t = new Date(rfc3339);
  if (Number.isNaN(t.getTime())) return rfc3339;
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat("en-CA", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    }).formatToParts(t);
  } catch {
    return rfc3339;
  }
  const get = (k: string): string => parts.find((p) => p.type === k)?.value ?? "";
  return `${day(`${get("year")}-${get("month")}-${get("day")}`, style)} ${get("hour")}:${get("minute")}`;
}

const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** The day (`YYYY-MM-DD`) an instant falls on in `timeZone` (one formatter per zone, kept: lists call this
 * for every row they draw). */
export function dayIn(rfc3339: string, timeZone: string): string {
  const t = new Date(rfc3339);
  try {
    let f = dayFormats.get(timeZone);
    if (!f) {
      f = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
      dayFormats.set(timeZone, f);
    }
    return f.format(t);
  } catch {
    return rfc3339.slice(0, 10);
  }
}

/** An instant's day in `timeZone` (the account's), in the chosen order; a dash when there is none. */
export const dayOf = (rfc3339: string | null | undefined, timeZone: string): string =>
  rfc3339 ? day(dayIn(rfc3339, timeZone)) : f.dash;

export const statusLabel: Record<string, string> = {
  planned: "Planned",
  open: "Open",
  partially_closed: "Partly closed",
  closed: "Closed",
  cancelled: "Cancelled",
  needs_review: "Needs review",
};

/** A count with the preferred group separator (`12,480`). Counts are integers, never money. */
export const count = (n: number): string => sep(Math.trunc(n).toLocaleString("en-US"));

/** Bytes as MiB with one decimal, by integer arithmetic (`3.4 MiB`). */
export function mebibytes(bytes: number): string {
  const tenths = Math.round((bytes * 10) / 1048576);
  return `${sep(`${Math.trunc(tenths / 10).toLocaleString("en-US")}.${tenths % 10}`)} MiB`;
}

/** What a `Progress` report says, in words: `Uploading 300 of 1,000 changes`, `Reading the file: 2.0 of 8.5 MiB`. */
export function progressWords(p: { task: string; done: number; total: number | null }): string {
  switch (p.task) {
    case "sync_upload":
      return `Uploading ${count(p.done)} of ${count(p.total ?? p.done)} changes`;
    case "sync_download":
      return p.total === null
        ? `Downloading: ${count(p.done)} rows so far`
        : `Downloaded ${count(p.done)} rows`;
    case "import_read":
      return p.total === null
        ? `Reading the file: ${mebibytes(p.done)}`
        : `Reading the file: ${mebibytes(p.done)} of ${mebibytes(p.total)}`;
    default:
      return `${count(p.done)}${p.total === null ? "" : ` of ${count(p.total)}`}`;
  }
}
