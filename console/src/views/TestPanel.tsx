import { useState } from "react";
import { useMutation } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { ErrorNote, Status, Value } from "../components/ui";
import type { Definition } from "../graph/types";
import { kindOf } from "../graph/catalog";

/** A dry run of the definition on screen: actions are rendered, not sent; mocks stand in for step outputs. */
export function TestPanel({ workflowId, definition }: { workflowId: string; definition: Definition }) {
  const [data, setData] = useState("{}");
  const [mocks, setMocks] = useState("{}");
  const [bad, setBad] = useState<string | null>(null);
  const run = useMutation({
    mutationFn: () => {
      let parsedData: Record<string, unknown>, parsedMocks: Record<string, unknown>;
      try { parsedData = JSON.parse(data || "{}"); } catch { setBad("Trigger data is not valid JSON"); throw new Error("Trigger data is not valid JSON"); }
      try { parsedMocks = JSON.parse(mocks || "{}"); } catch { setBad("Mocks are not valid JSON"); throw new Error("Mocks are not valid JSON"); }
      setBad(null);
      const { workflow_editor_state: _drop, ...rest } = definition;
      void _drop;
      return unwrap(api.POST("/v1/workflows/{workflow_id}/test", {
        params: { path: { workflow_id: workflowId } }, body: { data: parsedData, mocks: parsedMocks, definition: rest },
      }));
    },
  });
  const steps = (run.data?.steps ?? []) as { id: string; type: string; status: string; output?: unknown; error?: string | null }[];
  return (
    <div className="form">
      <p className="muted small">A dry run of what is on screen: nothing is sent. Mocks give a step's output by its id.</p>
      <div className="field"><label htmlFor="test-data">Trigger data (JSON)</label>
        <textarea id="test-data" className="mono" rows={5} value={data} onChange={(e) => setData(e.target.value)} /></div>
      <div className="field"><label htmlFor="test-mocks">Mocks (JSON: step id → output)</label>
        <textarea id="test-mocks" className="mono" rows={3} value={mocks} onChange={(e) => setMocks(e.target.value)} /></div>
      <button className="primary" onClick={() => run.mutate()} disabled={run.isPending}>Run test</button>
      {bad ? <div className="error">{bad}</div> : <ErrorNote error={run.error} />}
      {run.data && (
        <div className="trace" aria-label="Step trace">
          <h4>Result <Status value={run.data.status} /></h4>
          {run.data.error && <div className="error small">{run.data.error}</div>}
          <ol>
            {steps.map((s, i) => (
              <li key={i}><b>{s.id}</b> <span className="muted">{kindOf(s.type)?.label ?? s.type}</span> <Status value={s.status} />
                {s.error && <div className="error small">{s.error}</div>}
                <Value value={s.output} /></li>
            ))}
          </ol>
        </div>
      )}
    </div>
  );
}
