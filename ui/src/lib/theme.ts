import { prefs } from "../state";

/** The theme in effect: the preference, or the OS's when it is "system". */
export function isDark(): boolean {
  const t = prefs.value.theme;
  if (t !== "system") return t === "dark";
  return typeof matchMedia !== "undefined" && matchMedia("(prefers-color-scheme: dark)").matches;
}
