/**
 * App-wide state as signals: the session, the accounts and which one is shown, the date range, the route,
 * preferences, toasts, and a data version that every screen's loader depends on (bumped after each write
 * and whenever background sync pulls a change from another device, so screens reload without a click).
 */
import { computed, effect, signal } from "@preact/signals";
import type { AccountSummary } from "./bindings/AccountSummary";
import type { Progress } from "./bindings/Progress";
import type { SyncActivity } from "./bindings/SyncActivity";
import type { User } from "./bindings/User";

export type Route =
  | { name: "dashboard" }
  | { name: "trades"; trade?: string }
  | { name: "new-trade" }
  | { name: "journal"; tab?: "notes" | "accounts" | "risk" | "checklists" | "brokers" }
  | { name: "sync" }
  | { name: "settings" }
  | { name: "import" };

export const user = signal<User | null>(null);
export const accounts = signal<AccountSummary[]>([]);
export const accountId = signal<string | null>(null);
/** The IANA zone of an account (its days, times and calendar are in it); UTC when it is not loaded. */
export const timeZoneOf = (id: string): string => accounts.value.find((a) => a.id === id)?.time_zone ?? "UTC";
export const account = computed(
  () => accounts.value.find((a) => a.id === accountId.value) ?? accounts.value[0] ?? null,
);
export const range = signal<{ from: string; to: string }>({ from: "", to: "" });
export const route = signal<Route>({ name: "dashboard" });
export const dataVersion = signal(0);
export const sync = signal<SyncActivity | null>(null);
export const paletteOpen = signal(false);
/** The latest report of a long job (sync upload or download, reading a broker file), drawn as a bar. */
export const progress = signal<Progress | null>(null);

export function changed(): void {
  dataVersion.value++;
}

export function go(r: Route): void {
  route.value = r;
}

// ----- preferences (this device only) -------------------------------------------------------------------

export type Theme = "system" | "dark" | "light";
export type DateStyle = "iso" | "us" | "eu";
export type NumberStyle = "comma-dot" | "dot-comma" | "space-comma";

export interface Prefs {
  theme: Theme;
  dates: DateStyle;
  numbers: NumberStyle;
}

const PREFS_KEY = "trenddojo.prefs";

export function loadPrefs(storage: Pick<Storage, "getItem"> | null): Prefs {
  const fallback: Prefs = { theme: "system", dates: "iso", numbers: "comma-dot" };
  try {
    const raw = storage?.getItem(PREFS_KEY);
    if (!raw) return fallback;
    const p = JSON.parse(raw) as Partial<Prefs>;
    return {
      theme: p.theme === "dark" || p.theme === "light" ? p.theme : "system",
      dates: p.dates === "us" || p.dates === "eu" ? p.dates : "iso",
      numbers: p.numbers === "dot-comma" || p.numbers === "space-comma" ? p.numbers : "comma-dot",
    };
  } catch {
    return fallback;
  }
}

export const prefs = signal<Prefs>(loadPrefs(typeof localStorage === "undefined" ? null : localStorage));

effect(() => {
  const p = prefs.value;
  if (typeof localStorage !== "undefined") localStorage.setItem(PREFS_KEY, JSON.stringify(p));
  if (typeof document !== "undefined") document.documentElement.dataset.theme = p.theme;
});

// ----- toasts ----------------------------------------------------------------------------------------------

export interface Toast {
  id: number;
  text: string;
  kind: "info" | "error";
  action?: { label: string; run: () => void } | undefined;
}
export const toasts = signal<Toast[]>([]);
let nextToast = 1;

export function toast(
  text: string,
  kind: Toast["kind"] = "info",
  action?: Toast["action"],
  ms = 4000,
): number {
  const id = nextToast++;
  // At most three at once: the oldest goes first.
  toasts.value = [...toasts.value.slice(-2), action ? { id, text, kind, action } : { id, text, kind }];
  setTimeout(() => dismiss(id), ms);
  return id;
}

export function dismiss(id: number): void {
  toasts.value = toasts.value.filter((t) => t.id !== id);
}
