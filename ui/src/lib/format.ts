/**
 * How numbers look on screen: the TypeScript port of `crates/core/src/format.rs`, held to the same golden
 * cases (`crates/core/src/format_cases.json`, checked in `test/format.test.ts`) so the app and the CLI agree
 * character for character.
 *
 * Why strings all the way: money, prices and quantities arrive from the core as canonical decimal text
 * (`"177.33970588"`, `"-67.9"`). A JavaScript number cannot hold most of them exactly (0.1 + 0.2), so
 * nothing here converts them to `number`: rounding is done on the digits (half to even, like every derived
 * value in TrendDojo) with `BigInt` for the carry. Only the display rounds; nothing is ever computed from a
 * formatted string, and the exact value stays available for tooltips and the detail view.
 */

/** ISO 4217 currencies whose minor unit is not 2 places (the same table as format.rs). */
const MINOR_UNITS: Record<string, number> = {
  BIF: 0,
  CLP: 0,
  DJF: 0,
  GNF: 0,
  ISK: 0,
  JPY: 0,
  KMF: 0,
  KRW: 0,
  PYG: 0,
  RWF: 0,
  UGX: 0,
  UYI: 0,
  VND: 0,
  VUV: 0,
  XAF: 0,
  XOF: 0,
  XPF: 0,
  BHD: 3,
  IQD: 3,
  JOD: 3,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  TND: 3,
  CLF: 4,
  UYW: 4,
};

/** Currency symbols (English-language forms, so that `$` is only ever USD). */
const SYMBOLS: Record<string, string> = {
  USD: "$",
  EUR: "€",
  GBP: "£",
  JPY: "¥",
  CNY: "CN¥",
  KRW: "₩",
  INR: "₹",
  CAD: "CA$",
  AUD: "A$",
  NZD: "NZ$",
  HKD: "HK$",
  MXN: "MX$",
  BRL: "R$",
  ILS: "₪",
  TWD: "NT$",
  VND: "₫",
  PHP: "₱",
};

const code = (currency: string): string => currency.trim().toUpperCase();

/** Places of the currency's minor unit: 2 unless the table says otherwise (and for unknown codes). */
export function minorUnits(currency: string): number {
  return MINOR_UNITS[code(currency)] ?? 2;
}

/** A decimal as sign and digits: `-1234.5` -> negative, "1234", "5". */
interface Digits {
  negative: boolean;
  int: string;
  frac: string;
}

const CANONICAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/** Split canonical decimal text; `null` for anything else (shown as it came, never guessed at). */
export function parseDecimal(text: string): Digits | null {
  const m = CANONICAL.exec(text.trim());
  if (!m) return null;
  const int = (m[2] ?? "0").replace(/^0+(?=\d)/, "");
  return { negative: m[1] === "-", int, frac: m[3] ?? "" };
}

const isZero = (d: Digits): boolean => /^0*$/.test(d.int) && /^0*$/.test(d.frac);

/** Round half to even to `places` fraction digits, exactly, on the digits. */
function roundHalfEven(d: Digits, places: number): Digits {
  if (d.frac.length <= places) return d;
  const keep = d.frac.slice(0, places);
  const rest = d.frac.slice(places);
  const first = rest.charCodeAt(0) - 48;
  const tail = rest.slice(1);
  const kept = d.int + keep;
  const lastDigit = kept.charCodeAt(kept.length - 1) - 48;
  const up = first > 5 || (first === 5 && (/[1-9]/.test(tail) || lastDigit % 2 === 1));
  if (!up) return { negative: d.negative, int: d.int, frac: keep };
  const bumped = (BigInt(kept) + 1n).toString().padStart(kept.length, "0");
  const intLen = bumped.length - places;
  return { negative: d.negative, int: bumped.slice(0, intLen) || "0", frac: bumped.slice(intLen) };
}

/** `1234567` -> `1,234,567`. */
function group(int: string): string {
  return int.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** Sign, prefix, grouped integer part and a fraction of at least `minPlaces` digits. Zero has no sign. */
function render(d: Digits, minPlaces: number, prefix: string): string {
  const frac = d.frac.padEnd(minPlaces, "0");
  const sign = d.negative && !isZero(d) ? "-" : "";
  return `${sign}${prefix}${group(d.int)}${frac ? `.${frac}` : ""}`;
}

function fixed(text: string, places: number, prefix: string): string {
  const d = parseDecimal(text);
  if (!d) return text;
  return render(roundHalfEven(d, places), places, prefix);
}

/** Money in the currency's minor unit with thousands separators: `-1234.567 USD` -> `-1,234.57`. */
export function money(amount: string, currency: string): string {
  return fixed(amount, minorUnits(currency), "");
}

/** Money with the currency's symbol (or code and a space) after the sign: `-$67.90`, `CHF 1,234.57`. */
export function moneyWithSymbol(amount: string, currency: string): string {
  const c = code(currency);
  return fixed(amount, minorUnits(c), SYMBOLS[c] ?? `${c} `);
}

/** A percentage to exactly 2 places, without the `%`. */
export function percent(value: string): string {
  return fixed(value, 2, "");
}

/** An R-multiple (or another ratio) to exactly 2 places, without the `R`. */
export function r(value: string): string {
  return fixed(value, 2, "");
}

/** Trailing fraction zeros dropped (the value is unchanged). */
function normalize(d: Digits): Digits {
  return { ...d, frac: d.frac.replace(/0+$/, "") };
}

/** A quantity exactly as it is, grouped: `1234567.00012345` -> `1,234,567.00012345`. */
export function quantity(value: string): string {
  const d = parseDecimal(value);
  return d ? render(normalize(d), 0, "") : value;
}

/** A price exactly as it is, grouped, with at least the currency's minor-unit places: `187.5` -> `187.50`. */
export function price(value: string, currency: string): string {
  const d = parseDecimal(value);
  return d ? render(normalize(d), minorUnits(currency), "") : value;
}

/** The sign of a decimal text, for colouring gains and losses (-1, 0 or 1); 0 for text that is not one. */
export function signOf(value: string | null | undefined): -1 | 0 | 1 {
  const d = value == null ? null : parseDecimal(value);
  if (!d || isZero(d)) return 0;
  return d.negative ? -1 : 1;
}

/** Optional values: an em dash where there is none. */
export const dash = "—";
export function opt<T>(value: T | null | undefined, f: (v: T) => string): string {
  return value == null ? dash : f(value);
}
