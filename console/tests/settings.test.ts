import { describe, expect, it } from "vitest";
import { problemsByNode } from "../src/graph/problems";
import {
  WORKFLOW_SETTINGS, burstOf, changedSettings, flowOf, flowToSave, settingLabel, settingsOf, withBurst, withPart, withPriority,
} from "../src/graph/settings";

describe("flow_control in the Workflow settings form", () => {
  it("shows a stored flow_control without its null parts", () => {
    expect(flowOf({ concurrency: { limit: 1, key: null }, throttle: null, debounce: null, batch: null, priority: 3 }))
      .toEqual({ concurrency: { limit: 1, key: null }, priority: 3 });
    expect(flowOf(null)).toEqual({});
  });

  it("switching a part on and off, and emptied fields dropped", () => {
    let flow = withPart({}, "concurrency", { limit: 1 });
    flow = withPart(flow, "concurrency", { limit: 1, key: "{{trigger.entity_id}}" });
    expect(flowToSave(flow)).toEqual({ concurrency: { limit: 1, key: "{{trigger.entity_id}}" } });
    flow = withPart(flow, "concurrency", { limit: 1, key: undefined });
    expect(flow.concurrency).toEqual({ limit: 1 });
    expect(flowToSave(withPart(flow, "concurrency", null))).toBeNull(); // saving null removes it from the new version
  });

  it("debounce and batch are one choice: choosing one drops the other", () => {
    const debounced = withBurst({ throttle: { limit: 5, period: "1m" } }, "debounce");
    expect(burstOf(debounced)).toBe("debounce");
    expect(debounced.debounce).toEqual({ period: "30s" });
    const batched = withBurst(debounced, "batch");
    expect(batched).toEqual({ throttle: { limit: 5, period: "1m" }, batch: { max_size: 50, timeout: "60s" } });
    expect(burstOf(withBurst(batched, "none"))).toBe("none");
    expect(withBurst(batched, "none").batch).toBeUndefined();
  });

  it("priority 3 is the default and not written", () => {
    expect(withPriority({}, 1)).toEqual({ priority: 1 });
    expect(withPriority({ priority: 1 }, 3)).toEqual({});
  });
});

describe("the workflow's settings", () => {
  it("only the changed ones are sent", () => {
    const stored = settingsOf({ on_failure_workflow_id: null, max_triggers_per_day: 100 });
    expect(changedSettings(stored, stored)).toEqual({});
    expect(changedSettings(stored, { on_failure_workflow_id: "wf_x", max_triggers_per_day: 100 })).toEqual({ on_failure_workflow_id: "wf_x" });
    expect(changedSettings(stored, { on_failure_workflow_id: null, max_triggers_per_day: null })).toEqual({ max_triggers_per_day: null });
  });
});

describe("validation problems of the settings go to the Workflow settings form", () => {
  it("flow_control, on_failure_workflow_id and max_triggers_per_day paths, named by their labels", () => {
    const byNode = problemsByNode([
      { path: "flow_control.batch", message: "debounce and batch exclude each other: give one of them" },
      { path: "flow_control.concurrency.limit", message: "Input should be greater than or equal to 1; got 0" },
      { path: "on_failure_workflow_id", message: "no workflow of this tenant has the id 'wf_gone'" },
      { path: "max_triggers_per_day", message: "must be a positive integer or null; got 0" },
      { path: "name", message: "required" },
    ], [], (node, field) => (node === WORKFLOW_SETTINGS ? settingLabel(field) : field));
    expect(byNode.get(WORKFLOW_SETTINGS)).toEqual([
      "Collect into batches: debounce and batch exclude each other: give one of them",
      "Run one at a time per … — At most this many at once: Input should be greater than or equal to 1; got 0",
      "When a run fails, start: no workflow of this tenant has the id 'wf_gone'",
      "Turn off after this many runs a day: must be a positive integer or null; got 0",
    ]);
    expect(byNode.get("")).toEqual(["name: required"]);
  });

  it("labels of every part", () => {
    expect(settingLabel("flow_control.throttle.period")).toBe("At most N runs per … — Per period");
    expect(settingLabel("flow_control.debounce.max_wait")).toBe("Wait for a quiet period — But at most after");
    expect(settingLabel("flow_control.priority")).toBe("Priority");
    expect(settingLabel("flow_control")).toBe("Flow control");
  });
});
