/** Which node a validation problem's path (the API's `details[].path`) belongs to. */
import { TRIGGER_ID } from "./convert";
import { SETTING_PATHS, WORKFLOW_SETTINGS } from "./settings";
import type { Block } from "./types";

export type Problem = { path?: string; message?: string };

export function segments(path: string): string[] {
  return path.replace(/\[(\d+)\]/g, ".$1").split(".").filter((s) => s !== "");
}

/** The block id (or the trigger's node id, or WORKFLOW_SETTINGS for flow_control and the settings) that `path`
 * points into; null for the workflow itself. */
export function nodeForPath(path: string, blocks: Block[]): { node: string | null; field: string } {
  const parts = segments(path);
  if (parts[0]?.startsWith("trigger")) return { node: TRIGGER_ID, field: parts.join(".") };
  if (SETTING_PATHS.includes(parts[0])) return { node: WORKFLOW_SETTINGS, field: parts.join(".") };
  if (parts[0] !== "workflow_blocks") return { node: null, field: parts.join(".") };
  let list: Block[] | undefined = blocks;
  let found: Block | null = null;
  let i = 1;
  while (list && i < parts.length && /^\d+$/.test(parts[i])) {
    found = list[Number(parts[i])] ?? null;
    i += 1;
    if (!found) break;
    if (parts[i] === "branches" && i + 2 < parts.length + 1 && found.branches?.[parts[i + 1]]) {
      list = found.branches[parts[i + 1]];
      i += 2;
      continue;
    }
    list = undefined;
  }
  return { node: found?.id ?? null, field: parts.slice(i).join(".") };
}

/** Pydantic's wording of the commonest problems, as a person filling a form reads them (the API's `details[].message`
 * is "<pydantic message>; got <value>"); any other message is shown as the API words it. */
const PLAIN: [RegExp, string][] = [
  [/^String should have at least 1 character(; got '')?$/, "required"],
  [/^List should have at least 1 item after validation, not 0(; got \[\])?$/, "give at least one"],
  [/^Input should be a valid integer(; got .*)?$/, "must be a whole number"],
  [/^Input should be a valid number(; got .*)?$/, "must be a number"],
];

export function plain(message: string): string {
  for (const [pattern, words] of PLAIN) if (pattern.test(message)) return words;
  return message;
}

/** Problems grouped by node id ("" for the workflow as a whole); `label` names a field as its form does. */
export function problemsByNode(problems: Problem[], blocks: Block[],
                               label: (node: string | null, field: string) => string = (_, f) => f): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const p of problems) {
    const { node, field } = nodeForPath(p.path ?? "", blocks);
    const key = node ?? "";
    const message = plain(p.message ?? "");
    const line = field ? `${label(node, field)}: ${message}` : message;
    out.set(key, [...(out.get(key) ?? []), line]);
  }
  return out;
}
