import { describe, expect, it } from "vitest";
import type { ApiError } from "../src/api";
import { FieldError, createForm, fieldFor, messageFor, passphraseStrength } from "../src/lib/forms";

const err = (field: string | null, message: string, code: ApiError["code"] = "invalid_input"): ApiError => ({
  code,
  message,
  field,
  hint: null,
  action: null,
});

describe("errors land next to the field the core names", () => {
  const names = { maxRisk: ["max-risk-pct"], quantity: ["quantity"], pass: ["passphrase", "code:wrong_key"] };
  it("matches the core's field names, with _ - and spaces alike", () => {
    expect(fieldFor(err("max-risk-pct", "x"), names), "a dashed core name").toBe("maxRisk");
    expect(fieldFor(err("max_risk_pct", "x"), names), "underscores are dashes").toBe("maxRisk");
    expect(fieldFor(err("quantity", "x"), names), "a plain name").toBe("quantity");
    expect(fieldFor(err("recovery key", "x"), { rk: ["recovery_key"] }), "spaces are dashes").toBe("rk");
  });
  it("falls back to the code, then to the form", () => {
    expect(fieldFor(err(null, "wrong key", "wrong_key"), names), "a code a field claims").toBe("pass");
    expect(fieldFor(err("nobody", "x"), names), "an unknown field is the form's").toBe("_form");
    expect(fieldFor(err(null, "x"), names), "no field at all").toBe("_form");
  });
  it("drops the field prefix the label already says and adds the hint", () => {
    expect(messageFor(err("quantity", "quantity: must be positive, got -1"), "quantity")).toBe(
      "Must be positive, got -1",
    );
    expect(
      messageFor({ ...err("risk", "risk: refused"), hint: "lower the size" }, "_form"),
      "the form keeps it",
    ).toBe("Risk: refused. Lower the size.");
  });
});

describe("a failed save loses nothing typed", () => {
  it("keeps every value and places the error", async () => {
    const form = createForm({ quantity: "", price: "" }, { quantity: ["quantity"] });
    form.set("quantity", "-5");
    form.set("price", "101.25");
    // The core rejects with its ApiError value (not an Error): that is the contract under test.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    const ok = await form.submit(() => Promise.reject(err("quantity", "quantity: must be positive, got -5")));
    expect(ok, "the save failed").toBe(false);
    expect(form.values.value, "what was typed stays").toEqual({ quantity: "-5", price: "101.25" });
    expect(form.errors.value.quantity, "the error is on the quantity").toBe("Must be positive, got -5");
    form.set("quantity", "5");
    expect(form.errors.value.quantity, "typing in the field clears its error").toBeUndefined();
    expect(await form.submit(() => Promise.resolve()), "a good save succeeds").toBe(true);
    expect(form.busy.value, "not busy after").toBe(false);
  });
  it("refuses a second submit while one runs", async () => {
    const form = createForm({ a: "" });
    let release: () => void = () => undefined;
    const first = form.submit(() => new Promise<void>((r) => (release = r)));
    expect(await form.submit(() => Promise.resolve()), "no double submit").toBe(false);
    release();
    expect(await first, "the first one finishes").toBe(true);
  });
  it("reports the form's own checks like the core's", async () => {
    const form = createForm({ again: "" }, { again: ["again"] });
    await form.submit(() => Promise.reject(new FieldError("again", "the two passphrases differ")));
    expect(form.errors.value.again, "on its field").toBe("The two passphrases differ");
  });
});

describe("passphrase strength hint", () => {
  it("rises with length and variety and never praises the obvious", () => {
    expect(passphraseStrength("").score, "nothing typed").toBe(0);
    expect(passphraseStrength("password123").score, "a common password").toBe(0);
    expect(passphraseStrength("aaaaaaaaaaaaaaaaaaaaaa").score, "one character repeated").toBe(0);
    expect(passphraseStrength("abcdefgh").score, "8 letters").toBe(1);
    expect(passphraseStrength("correct horse battery staple").score, "four words").toBeGreaterThanOrEqual(3);
    expect(passphraseStrength("Tr0ub4dor&3-with-more").words, "strong in words").toBe("Strong");
  });
});
