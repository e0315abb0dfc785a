"""SPEC §2.7: every `flow_control` field is validated and each problem names its path (pure)."""

from __future__ import annotations

import pytest

from workflows.flow import gate_id, gates
from workflows.validation import DefinitionInvalid, parse_definition

STEP = {"$kind": "Action", "id": "send", "type": "webhook", "input": {"url": "https://example.com"}}

BAD = [
    ({"concurrency": {"limit": 0}}, "flow_control.concurrency.limit"),
    ({"concurrency": {"limit": "2"}}, "flow_control.concurrency.limit"),
    ({"concurrency": {}}, "flow_control.concurrency.limit"),
    ({"concurrency": {"limit": 1, "colour": "red"}}, "flow_control.concurrency.colour"),
    ({"throttle": {"limit": 0, "period": "1m"}}, "flow_control.throttle.limit"),
    ({"throttle": {"limit": 5, "period": "soon"}}, "flow_control.throttle.period"),
    ({"throttle": {"limit": 5, "period": "0s"}}, "flow_control.throttle.period"),
    ({"throttle": {"limit": 5}}, "flow_control.throttle.period"),
    ({"debounce": {"period": "-1s"}}, "flow_control.debounce.period"),
    ({"debounce": {"period": "30s", "max_wait": "9999999999d"}}, "flow_control.debounce.max_wait"),
    ({"debounce": {"period": "30s", "max_wait": "10s"}}, "flow_control.debounce.max_wait"),
    ({"batch": {"max_size": 0, "timeout": "1m"}}, "flow_control.batch.max_size"),
    ({"batch": {"max_size": 10, "timeout": "whenever"}}, "flow_control.batch.timeout"),
    ({"debounce": {"period": "1s"}, "batch": {"max_size": 2, "timeout": "1s"}}, "flow_control.batch"),
    ({"priority": 0}, "flow_control.priority"),
    ({"priority": 6}, "flow_control.priority"),
    ({"priority": 2.5}, "flow_control.priority"),
    ({"concurrency": {"limit": 1, "key": "{{ trigger.data.a | upper }}"}}, "flow_control.concurrency.key"),
    ({"concurrency": {"limit": 1, "key": "{{send.output.id}}"}}, "flow_control.concurrency.key"),
    ({"throttle": {"limit": 1, "period": "1s", "key": "{{now}}"}}, "flow_control.throttle.key"),
    ({"batch": {"max_size": 2, "timeout": "1s", "key": "{{secrets.TOKEN}}"}}, "flow_control.batch.key"),
    ({"debounce": {"period": "1s", "key": "{{instance.id}}"}}, "flow_control.debounce.key"),
    ({"concurrency": {"limit": 1, "key": "{{approvals.ok.approve_url}}"}}, "flow_control.concurrency.key"),
    ({"debounce": {"period": "1s", "key": "{{trigger.data.a"}}, "flow_control.debounce.key"),
    ({"unknown": 1}, "flow_control.unknown"),
    ("fast", "flow_control"),
]


@pytest.mark.parametrize("flow,path", BAD, ids=[p + ":" + str(f)[:40] for f, p in BAD])
def test_each_bad_field_is_refused_at_its_path(flow, path):
    with pytest.raises(DefinitionInvalid) as refused:
        parse_definition({"name": "x", "workflow_blocks": [STEP], "flow_control": flow})
    assert any(p.path == path for p in refused.value.problems), refused.value.problems


def test_a_full_flow_control_is_kept_canonical():
    flow = {"concurrency": {"limit": 2, "key": "{{trigger.entity_id}}"},
            "throttle": {"limit": 10, "period": "1m", "key": "{{trigger.data.account}}"},
            "debounce": {"period": "30s", "max_wait": "5m", "key": "{{deal.id}}-{{account}}"}}
    definition = parse_definition({"name": "x", "workflow_blocks": [STEP], "flow_control": flow})
    dumped = definition.model_dump(mode="json", by_alias=True)["flow_control"]
    assert dumped == {**flow, "batch": None, "priority": 3}
    assert parse_definition({"name": "x"}).flow_control is None


SPEC_EXAMPLE = {  # SPEC §2.7, as printed
    "concurrency": {"limit": 1, "key": "{{trigger.entity_id}}"},
    "throttle": {"limit": 10, "period": "1m", "key": "{{trigger.data.account}}"},
    "debounce": {"period": "30s", "max_wait": "5m", "key": "{{trigger.entity_id}}"},
    "batch": {"max_size": 50, "timeout": "60s", "key": "{{trigger.data.account}}"},
    "priority": 2}


@pytest.mark.parametrize("left_out", ["debounce", "batch"])
def test_the_spec_example_is_kept_as_written_without_debounce_or_batch(left_out):
    with pytest.raises(DefinitionInvalid) as refused:  # together they exclude each other
        parse_definition({"name": "x", "flow_control": SPEC_EXAMPLE})
    assert [p.path for p in refused.value.problems] == ["flow_control.batch"]
    flow = {**SPEC_EXAMPLE, left_out: None}
    definition = parse_definition({"name": "x", "workflow_blocks": [STEP], "flow_control": flow})
    assert definition.model_dump(mode="json", by_alias=True)["flow_control"] == flow


def test_gates_render_their_keys_over_the_trigger():
    definition = parse_definition({"name": "x", "flow_control": {
        "concurrency": {"limit": 1, "key": "{{trigger.data.account}}"}, "throttle": {"limit": 3, "period": "2s"}}})
    found = gates(definition.flow_control, tenant_id="ten_1", workflow_id="wf_1",
                  context={"trigger": {"data": {"account": "acme"}}})
    assert [(g.kind, g.limit, g.period_seconds) for g in found] == [("concurrency", 1, 0.0), ("throttle", 3, 2.0)]
    assert found[0].gate_id == gate_id("ten_1", "wf_1", "concurrency", "acme") != gate_id("ten_1", "wf_1",
                                                                                            "concurrency", "globex")
    assert found[1].gate_id == gate_id("ten_1", "wf_1", "throttle", "")  # no key: one for the workflow
