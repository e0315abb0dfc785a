import { describe, expect, it } from "vitest";
import { plain, problemsByNode } from "../src/graph/problems";
import type { Block } from "../src/graph/types";

describe("validation messages in words", () => {
  it.each([
    ["String should have at least 1 character; got ''", "required"],
    ["List should have at least 1 item after validation, not 0; got []", "give at least one"],
    ["Input should be a valid integer; got 'two'", "must be a whole number"],
    ["changed_to is only allowed in event-trigger conditions", "changed_to is only allowed in event-trigger conditions"],
  ])("%s reads %s", (message, words) => {
    expect(plain(message)).toBe(words);
  });

  it("an empty required field is named by its label on its block", () => {
    const blocks: Block[] = [{ $kind: "Block", id: "child", type: "call_workflow", inputs: { workflow_id: "" } }];
    const byNode = problemsByNode([{ path: "workflow_blocks.0.inputs.workflow_id", message: "String should have at least 1 character; got ''" }],
                                  blocks, (_, field) => (field === "inputs.workflow_id" ? "Workflow" : field));
    expect(byNode.get("child")).toEqual(["Workflow: required"]);
  });
});
