import { describe, expect, it } from "vitest";
import { describeUpdate } from "../src/lib/update";

describe("describeUpdate", () => {
  it("names the versions and the reason a feed's offer was refused", () => {
    expect(describeUpdate({ status: "up_to_date", current: "0.1.0" }), "up to date").toBe(
      "TrendDojo 0.1.0 is the newest version.",
    );
    expect(
      describeUpdate({ status: "available", current: "0.1.0", version: "0.2.0", notes: null, date: null }),
      "an offer",
    ).toBe("TrendDojo 0.2.0 is available (you have 0.1.0).");
    expect(
      describeUpdate({ status: "refused", current: "0.2.0", offered: "0.1.0", reason: "0.1.0 is older" }),
      "a downgrade",
    ).toBe("Not offered: 0.1.0 is older");
  });
});
