/**
 * The one place the UI reads a number out of text: small whole numbers that are not money (a checklist
 * item's position, a count typed into a risk setting, a calendar day). Exempt from the money lint rule,
 * and strict: digits only, within range, or `null`.
 */
export function wholeNumber(text: string, max = 1_000_000_000): number | null {
  const t = text.trim();
  if (!/^\d{1,10}$/.test(t)) return null;
  const n = Number(t);
  return n <= max ? n : null;
}
