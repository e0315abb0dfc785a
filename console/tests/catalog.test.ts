import { describe, expect, it } from "vitest";
import { summary } from "../src/graph/catalog";

describe("a node's one-line summary", () => {
  it("a wait for an event not yet named reads 'an event', not empty quotes", () => {
    expect(summary({ $kind: "Block", id: "w", type: "wait_for_event", inputs: { event: "", timeout: "1d" } })).toBe("an event, at most 1d");
    expect(summary({ $kind: "Block", id: "w", type: "wait_for_event", inputs: { event: "paid", timeout: "1d" } })).toBe('"paid", at most 1d');
  });
});
