import { describe, expect, it } from "vitest";
import cases from "../../crates/core/src/format_cases.json";
import { minorUnits, money, moneyWithSymbol, percent, price, quantity, r, signOf } from "../src/lib/format";

interface Case {
  kind: string;
  input: string;
  currency: string | null;
  expected: string;
  why: string;
}

const fns: Record<string, (v: string, c: string) => string> = {
  money,
  money_with_symbol: moneyWithSymbol,
  percent: (v) => percent(v),
  r: (v) => r(v),
  quantity: (v) => quantity(v),
  price,
};

describe("display formatting matches the CLI's golden cases (crates/core/src/format_cases.json)", () => {
  const all = (cases as { cases: Case[] }).cases;
  it("covers every kind broadly", () => {
    expect(all.length, "the golden file has many cases").toBeGreaterThanOrEqual(40);
    expect(new Set(all.map((c) => c.kind)).size, "all six kinds are covered").toBe(6);
  });
  for (const c of all) {
    it(`${c.kind}(${c.input}, ${c.currency ?? "-"}) = ${c.expected}: ${c.why}`, () => {
      const f = fns[c.kind];
      if (!f) throw new Error(`no formatter for ${c.kind}`);
      expect(f(c.input, c.currency ?? ""), c.why).toBe(c.expected);
    });
  }
});

describe("formatting adversarial input", () => {
  it("leaves text that is not a canonical decimal as it came (never NaN or a guess)", () => {
    expect(money("abc", "USD"), "garbage is shown as is").toBe("abc");
    expect(money("1e5", "USD"), "exponent notation is not canonical").toBe("1e5");
    expect(quantity(""), "empty stays empty").toBe("");
  });
  it("handles the largest values exactly, beyond what a float can hold", () => {
    expect(money("79228162514264337593543950335", "USD"), "Decimal::MAX").toBe(
      "79,228,162,514,264,337,593,543,950,335.00",
    );
    expect(money("0.1000000000000000055511151231257827", "USD"), "float noise is not invented").toBe("0.10");
    expect(money("9007199254740993.005", "USD"), "beyond 2^53").toBe("9,007,199,254,740,993.00");
  });
  it("carries a rounding through every digit", () => {
    expect(money("-999999.995", "USD"), "carry into a new digit, half to even").toBe("-1,000,000.00");
    expect(money("0.995", "JPY"), "zero places").toBe("1");
  });
  it("knows minor units and signs", () => {
    expect(minorUnits(" jpy "), "codes are trimmed and case-insensitive").toBe(0);
    expect(signOf("-0.00"), "negative zero has no sign").toBe(0);
    expect(signOf("-3"), "negative").toBe(-1);
    expect(signOf("2.5"), "positive").toBe(1);
    expect(signOf(null), "missing").toBe(0);
  });
});
