import { describe, expect, it } from "vitest";
import examples from "./examples.json";
import { CATALOG } from "../src/graph/catalog";
import { NEXT, TRIGGER_ID, branchHandle, definitionToGraph, editorState, graphToBlocks } from "../src/graph/convert";
import { connect, insert, remove, setBranches } from "../src/graph/edit";
import { layout, needsLayout } from "../src/graph/layout";
import { nodeForPath } from "../src/graph/problems";
import type { Block, Definition } from "../src/graph/types";

const canonical = examples.examples.filter((e) => Array.isArray((e.definition as Definition).workflow_blocks));
const roundTrip = (d: Definition) => {
  const g = definitionToGraph(d);
  return graphToBlocks(g.nodes, g.edges);
};
const typesIn = (blocks: Block[]): string[] =>
  blocks.flatMap((b) => [b.type, ...Object.values(b.branches ?? {}).flatMap(typesIn)]);

describe("definition → graph → definition", () => {
  it.each(canonical.map((e) => [e.title, e.definition] as const))("is the identity for %s", (_, definition) => {
    const d = definition as Definition;
    const back = roundTrip(d);
    expect(back.unreachable).toEqual([]);
    expect(back.problems).toEqual([]);
    expect(back.blocks).toEqual(d.workflow_blocks);
    expect(JSON.stringify(back.blocks)).toBe(JSON.stringify(d.workflow_blocks)); // key order too
  });

  it("covers every block type of SPEC §2.4", () => {
    const seen = new Set(canonical.flatMap((e) => typesIn((e.definition as Definition).workflow_blocks ?? [])));
    expect([...seen].sort()).toEqual(CATALOG.map((k) => k.type).sort());
  });

  it.each(CATALOG.map((k) => [k.type, k] as const))("a new %s block round-trips with its branches", (_, kind) => {
    const block = kind.make("b1");
    const d: Definition = { workflow_blocks: [block, { $kind: "Action", id: "after", type: "webhook", input: { url: "https://x" } }] };
    expect(roundTrip(d).blocks).toEqual(d.workflow_blocks);
    expect(Object.keys(block.branches ?? {})).toEqual(kind.branches ?? []);
  });
});

describe("the graph", () => {
  it("draws a branch edge to each branch's first block and a next edge between neighbours", () => {
    const g = definitionToGraph(canonical[0].definition as Definition);
    expect(g.nodes.map((n) => n.id)).toEqual([TRIGGER_ID, "notify", "big", "mail_ceo"]);
    expect(g.edges.map((e) => [e.source, e.sourceHandle, e.target])).toEqual([
      [TRIGGER_ID, NEXT, "notify"], ["notify", NEXT, "big"], ["big", branchHandle("then"), "mail_ceo"]]);
    expect(g.edges[2].label).toBe("then");
  });

  it("keeps stored positions and lays out the rest", () => {
    const d = canonical[0].definition as Definition;
    const state = { nodes: [{ id: TRIGGER_ID, position: { x: 5, y: 6 } }, { id: "notify", position: { x: 7, y: 8 } }] };
    const g = definitionToGraph(d, state);
    expect(g.nodes[0].position).toEqual({ x: 5, y: 6 });
    expect(needsLayout(g.nodes, state)).toBe(true);
    const laid = layout(g.nodes, g.edges);
    expect(new Set(laid.map((n) => `${n.position.x},${n.position.y}`)).size).toBe(laid.length);
    const saved = editorState(laid, g.edges, { x: 1, y: 2, zoom: 1 });
    expect(needsLayout(definitionToGraph(d, saved).nodes, saved)).toBe(false);
  });

  it("refuses a block that is not connected, and one reached twice", () => {
    const g = definitionToGraph(canonical[0].definition as Definition);
    const cut = g.edges.filter((e) => e.target !== "big");
    expect(graphToBlocks(g.nodes, cut).unreachable).toEqual(["big", "mail_ceo"]);
    const loop = [...g.edges, { id: "x", source: "mail_ceo", target: "notify", sourceHandle: NEXT }];
    expect(graphToBlocks(g.nodes, loop).problems[0].node).toBe("notify");
  });
});

describe("editing", () => {
  const start = () => definitionToGraph({ workflow_blocks: [] });

  it("builds webhook trigger → if-else → email in the then branch", () => {
    let g = start();
    const ifElse = insert(g, "if-else", TRIGGER_ID, NEXT);
    g = insert(ifElse, "send_email", ifElse.id, branchHandle("then"));
    const blocks = graphToBlocks(g.nodes, g.edges).blocks;
    expect(blocks).toHaveLength(1);
    expect(blocks[0].type).toBe("if-else");
    expect(blocks[0].branches?.then?.[0]?.type).toBe("send_email");
    expect(blocks[0].branches?.else).toEqual([]);
  });

  it("inserts between two blocks, removes a block and its branches, reconnects", () => {
    let g = definitionToGraph(canonical[0].definition as Definition);
    g = insert(g, "delay", "notify", NEXT);
    expect(graphToBlocks(g.nodes, g.edges).blocks.map((b) => b.id)).toEqual(["notify", "delay_1", "big"]);
    g = remove(g, "delay_1");
    g = remove(g, "big");
    expect(graphToBlocks(g.nodes, g.edges).blocks.map((b) => b.id)).toEqual(["notify"]);
    expect(g.nodes.map((n) => n.id)).toEqual([TRIGGER_ID, "notify"]);
  });

  it("connects one edge per handle and gives a block one place", () => {
    let g = definitionToGraph(canonical[0].definition as Definition);
    g = connect(g, TRIGGER_ID, NEXT, "big");
    const out = graphToBlocks(g.nodes, g.edges);
    expect(out.blocks.map((b) => b.id)).toEqual(["big"]);
    expect(out.unreachable).toEqual(["notify"]);
  });

  it("adds and removes parallel branches", () => {
    let g = start();
    const p = insert(g, "parallel", TRIGGER_ID, NEXT);
    g = setBranches(p, p.id, ["a", "b", "c"]);
    g = insert(g, "stop", p.id, branchHandle("c"));
    expect(Object.keys(graphToBlocks(g.nodes, g.edges).blocks[0].branches ?? {})).toEqual(["a", "b", "c"]);
    g = setBranches(g, p.id, ["a", "b"]);
    expect(graphToBlocks(g.nodes, g.edges).blocks[0].branches).toEqual({ a: [], b: [] });
    expect(g.nodes).toHaveLength(2);
  });
});

describe("validation paths", () => {
  const blocks = (canonical[3].definition as Definition).workflow_blocks ?? [];
  it.each([
    ["workflow_blocks.0.branches.b.0.input.webhook_url", "post", "input.webhook_url"],
    ["workflow_blocks[1].branches.do[0].input.title", "task", "input.title"],
    ["workflow_blocks.3.input.url", "hook", "input.url"],
    ["workflow_blocks.4", "done", ""],
    ["trigger_configuration.cron", TRIGGER_ID, "trigger_configuration.cron"],
    ["name", null, "name"],
  ])("%s is shown on %s", (path, node, field) => {
    expect(nodeForPath(path, blocks)).toEqual({ node, field });
  });
});
