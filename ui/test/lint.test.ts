// @vitest-environment node
import { describe, expect, it } from "vitest";
import { ESLint, type Linter } from "eslint";
import tseslint from "typescript-eslint";

/**
 * The money rule fires on every way text becomes a float, and only there. The rules are taken from the
 * project's real configuration (as resolved for a screen's file), then run on snippets.
 */
describe("money never becomes a JavaScript number", () => {
  const cwd = process.cwd();
  const rulesFor = async (file: string): Promise<Partial<Linter.RulesRecord>> => {
    const config = (await new ESLint({ cwd }).calculateConfigForFile(file)) as { rules?: Linter.RulesRecord };
    const rules = config.rules ?? {};
    return {
      "no-restricted-syntax": rules["no-restricted-syntax"],
      "no-restricted-globals": rules["no-restricted-globals"],
    };
  };
  const lint = async (code: string, file = "src/screens/Dashboard.tsx"): Promise<string[]> => {
    const rules = await rulesFor(file);
    const eslint = new ESLint({
      cwd,
      overrideConfigFile: true,
      overrideConfig: [
        { files: ["**/*.ts", "**/*.tsx"], languageOptions: { parser: tseslint.parser }, rules },
      ],
    });
    const [r] = await eslint.lintText(code, { filePath: "probe.ts" });
    return (r?.messages ?? []).map((m) => `${m.ruleId ?? "fatal"}: ${m.message}`);
  };
  const t = "declare const t: { net_pnl: string; price: string; fees: string };\n";
  it("is configured for the screens", async () => {
    const rules = await rulesFor("src/screens/Dashboard.tsx");
    expect(rules["no-restricted-syntax"], "the syntax rule is on").toBeDefined();
    expect(rules["no-restricted-globals"], "the globals rule is on").toBeDefined();
  }, 30_000);
  it.each([
    ["parseFloat", `${t}export const x = parseFloat(t.net_pnl);`],
    ["Number()", `${t}export const x = Number(t.price);`],
    ["Number.parseFloat", `${t}export const x = Number.parseFloat(t.fees);`],
    ["unary plus", `${t}export const x = +t.net_pnl;`],
    ["arithmetic on a money field", `${t}export const x = t.net_pnl * 2;`],
    ["parseInt", `${t}export const x = parseInt(t.price, 10);`],
  ])(
    "refuses %s",
    async (_name, code) => {
      const found = await lint(code);
      expect(
        found.some((m) => m.startsWith("no-restricted")),
        `the rule fires on: ${code} (${found.join("; ")})`,
      ).toBe(true);
    },
    30_000,
  );
  it("leaves formatting money as text alone", async () => {
    const ok = `declare function money(v: string, c: string): string;\n${t}export const x = money(t.net_pnl, "USD");`;
    expect(await lint(ok), "formatting is fine").toEqual([]);
  }, 30_000);
  it("exempts only the checked integer reader", async () => {
    const rules = await rulesFor("src/lib/int.ts");
    expect((rules["no-restricted-syntax"] as unknown[] | undefined)?.[0], "lib/int.ts is exempt").toBe(0);
    expect((rules["no-restricted-globals"] as unknown[] | undefined)?.[0], "from both rules").toBe(0);
  }, 30_000);
});
