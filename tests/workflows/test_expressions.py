"""Templates, conditions and JSON Logic: what a workflow author sees rendered and decided."""

import pytest

from workflows import jsonlogic
from workflows.conditions import (
    CHANGE_OPERATORS,
    OPERATORS,
    compare,
    evaluate_condition,
    evaluate_event_condition,
    validate_condition,
)
from workflows.expressions import (
    SECRET_PLACEHOLDER,
    ExpressionError,
    TemplateSyntaxError,
    lookup,
    render,
    template_tokens,
)
from workflows.jsonlogic import JsonLogicError

CONTEXT = {
    "trigger": {"entity": "deal", "data": {"name": "Acme", "value": 60000}},
    "deal": {"name": "Acme", "value": 60000, "won": True, "ratio": 0.5, "owner": None},
    "s1": {"output": {"items": [{"id": "i-1"}, {"id": "i-2"}], "status": 200, "body": {"ok": True}}},
    "note": "{{secrets.API_KEY}} and {{deal.name}}",
}


# --- rendering ---------------------------------------------------------------------------

def test_whole_token_keeps_the_json_type():
    assert render("{{s1.output.body}}", CONTEXT).value == {"ok": True}
    assert render("{{ deal.value }}", CONTEXT).value == 60000
    assert render("  {{deal.won}} ", CONTEXT).value is True
    assert render("{{s1.output.items}}", CONTEXT).value == [{"id": "i-1"}, {"id": "i-2"}]


def test_mixed_text_substitutes_json_ish_text():
    rendered = render("Deal {{deal.name}}: {{deal.value}} won={{deal.won}} r={{deal.ratio}} {{s1.output.body}}", CONTEXT)
    assert rendered.value == 'Deal Acme: 60000 won=true r=0.5 {"ok":true}'
    assert rendered.missing == []


def test_missing_values_render_empty_and_are_listed():
    rendered = render({"subject": "Hi {{deal.nope}}{{deal.owner}}!", "to": ["{{deal.owner}}", "{{x.y}}"], "n": 3},
                      CONTEXT)
    assert rendered.value == {"subject": "Hi !", "to": [None, None], "n": 3}
    assert rendered.missing == ["deal.nope", "x.y"]  # a null that is there is a value, not a missing one


def test_missing_whole_value_is_none():
    rendered = render("{{s9.output.x}}", CONTEXT)
    assert rendered.value is None
    assert rendered.missing == ["s9.output.x"]


def test_list_indexes_and_dict_keys_untouched():
    rendered = render({"{{deal.name}}": "{{s1.output.items.1.id}}"}, CONTEXT)
    assert rendered.value == {"{{deal.name}}": "i-2"}
    assert render("{{s1.output.items.5.id}}", CONTEXT).missing == ["s1.output.items.5.id"]


def test_rendering_is_single_pass():
    assert render("{{note}}", CONTEXT, secret_nonce="n1").value == "{{secrets.API_KEY}} and {{deal.name}}"
    assert render("note: {{note}}", CONTEXT).value == "note: {{secrets.API_KEY}} and {{deal.name}}"


def test_secrets_become_placeholders_only_with_a_nonce():
    placeholder = SECRET_PLACEHOLDER.format(nonce="abc", name="API_KEY")
    assert placeholder == "\u27e6secret:abc:API_KEY\u27e7"
    assert render("{{secrets.API_KEY}}", CONTEXT, secret_nonce="abc").value == placeholder
    assert render("Bearer {{ secrets.API_KEY }}", CONTEXT, secret_nonce="abc").value == f"Bearer {placeholder}"
    assert render("{{secrets.API_KEY}}", CONTEXT).value == "{{secrets.API_KEY}}"
    assert render("Bearer {{ secrets.API_KEY }} for {{deal.name}}", CONTEXT).value == (
        "Bearer {{ secrets.API_KEY }} for Acme")
    assert render("{{secrets.API_KEY}}", {"secrets": {"API_KEY": "leak"}}).value == "{{secrets.API_KEY}}"


def test_template_tokens_lists_locations():
    value = {"body": {"items": ["{{s1.output.items.0.id}}", "x {{ deal.name }} {{deal.value}}"]}, "n": 1}
    assert template_tokens(value, "input") == [
        ("input.body.items.0", "s1.output.items.0.id"),
        ("input.body.items.1", "deal.name"),
        ("input.body.items.1", "deal.value"),
    ]


@pytest.mark.parametrize("text", [
    "{{7*7}}", "{{a.__class__}}", "{{__import__}}", "{% if x %}y{% endif %}", "{{ }}", "x {{deal.name",
    "{{deal.name | upper}}", "{{a..b}}", "{{ a b }}", "{{a[0]}}",
])
def test_tokens_that_are_not_plain_paths_are_rejected_with_their_location(text):
    with pytest.raises(TemplateSyntaxError) as caught:
        template_tokens({"body": ["ok", text]}, "workflow_blocks.2.input")
    assert caught.value.path == "workflow_blocks.2.input.body.1"
    with pytest.raises(TemplateSyntaxError):
        render(text, CONTEXT)


def test_lookup_uses_keys_and_indexes_only():
    assert lookup(CONTEXT, "s1.output.items.0.id") == (True, "i-1")
    assert lookup(CONTEXT, "deal.owner") == (True, None)
    assert lookup(CONTEXT, "deal.name.upper") == (False, None)
    assert lookup({"a": [1]}, "a.-1") == (False, None)
    assert lookup({"a": "text"}, "a.0") == (False, None)


# --- operators ---------------------------------------------------------------------------

@pytest.mark.parametrize("operator, left, right, expected", [
    ("equals", "200", 200, True),
    ("equals", 200.0, "200", True),
    ("equals", "abc", "abc", True),
    ("equals", True, "true", True),
    ("equals", True, 1, False),
    ("equals", None, "", False),
    ("equals", {"a": 1}, {"a": 1}, True),
    ("not_equals", "201", 200, True),
    ("contains", "hello world", "lo w", True),
    ("contains", ["a", "200"], 200, True),
    ("contains", ["a", "b"], "c", False),
    ("contains", {"k": 1}, "k", True),
    ("contains", None, "x", False),
    ("not_contains", ["a"], "b", True),
    ("greater_than", "60000", 50000, True),
    ("greater_than", 1, 1, False),
    ("less_than", 1.5, "2", True),
    ("greater_or_equal", 2, 2, True),
    ("less_or_equal", 3, 2, False),
    ("exists", 0, None, True),
    ("exists", None, None, False),
    ("is_empty", "", None, True),
    ("is_empty", [], None, True),
    ("is_empty", {}, None, True),
    ("is_empty", 0, None, False),
    ("in", "b", ["a", "b"], True),
    ("in", 2, ["1", "2"], True),
    ("in", "ell", "hello", True),
    ("in", "z", "hello", False),
    ("starts_with", "invoice-7", "invoice", True),
    ("ends_with", "report.pdf", ".pdf", True),
    ("ends_with", None, ".pdf", False),
    ("matches", "report-2024.pdf", "report-*.pdf", True),
    ("matches", "Report.pdf", "report*", False),
    ("matches", 404, "4?4", True),
])
def test_operators(operator, left, right, expected):
    assert compare(operator, left, right) is expected


def test_every_listed_operator_is_known():
    assert {
        "equals", "not_equals", "contains", "not_contains", "greater_than", "less_than", "greater_or_equal",
        "less_or_equal", "exists", "is_empty", "in", "starts_with", "ends_with", "matches", "changed", "changed_to"} == OPERATORS
    assert {"changed", "changed_to"} == CHANGE_OPERATORS


def test_ordering_non_numbers_is_a_user_error_naming_values():
    with pytest.raises(ExpressionError, match=r"greater_than needs numbers, got 'abc' and 50000"):
        compare("greater_than", "abc", 50000)
    with pytest.raises(ExpressionError, match="less_than"):
        compare("less_than", True, 1)
    with pytest.raises(ExpressionError, match="unknown operator 'bigger'"):
        compare("bigger", 1, 2)
    with pytest.raises(ExpressionError, match="only allowed in event-trigger"):
        compare("changed_to", 1, 2)


# --- if-else conditions ------------------------------------------------------------------

def test_condition_renders_operands_first():
    assert evaluate_condition({"operatorName": "equals", "left": "{{s1.output.status}}", "right": "200"}, CONTEXT)
    assert evaluate_condition({"operator": "greater_than", "left": "{{deal.value}}", "right": 50000}, CONTEXT)
    assert not evaluate_condition({"operatorName": "exists", "left": "{{deal.missing}}"}, CONTEXT)
    assert evaluate_condition({"operatorName": "equals", "left": "Deal {{deal.name}}", "right": "Deal Acme"}, CONTEXT)


def test_combinators():
    big = {"operatorName": "greater_than", "left": "{{deal.value}}", "right": 50000}
    lost = {"operatorName": "equals", "left": "{{deal.won}}", "right": False}
    assert evaluate_condition({"all": [big, {"not": lost}]}, CONTEXT)
    assert not evaluate_condition({"all": [big, lost]}, CONTEXT)
    assert evaluate_condition({"any": [lost, big]}, CONTEXT)
    assert not evaluate_condition({"any": []}, CONTEXT)
    assert evaluate_condition({"all": []}, CONTEXT)


def test_ordering_on_text_fails_the_condition():
    with pytest.raises(ExpressionError, match="greater_than needs numbers, got 'Acme' and 5"):
        evaluate_condition({"operatorName": "greater_than", "left": "{{deal.name}}", "right": 5}, CONTEXT)


# --- event-trigger conditions ------------------------------------------------------------

def test_changed_and_changed_to():
    before, after = {"status": "open", "owner": {"id": 1}}, {"status": "won", "owner": {"id": 1}}
    assert evaluate_event_condition({"field": "status", "operator": "changed"}, after, before)
    assert not evaluate_event_condition({"field": "owner.id", "operator": "changed"}, after, before)
    assert evaluate_event_condition({"field": "status", "operator": "changed_to", "value": "won"}, after, before)
    assert not evaluate_event_condition({"field": "status", "operator": "changed_to", "value": "lost"}, after, before)
    assert not evaluate_event_condition({"field": "status", "operator": "changed_to", "value": "won"}, after, after)
    assert evaluate_event_condition({"field": "status", "operator": "changed_to", "value": "won"}, after, None)
    assert not evaluate_event_condition({"field": "stage", "operator": "changed"}, after, None)
    assert evaluate_event_condition({"field": "stage", "operator": "changed"}, before, {"stage": "x"})


def test_event_conditions_with_plain_operators_and_combinators():
    data, previous = {"status": "won", "amount": "1200", "tags": ["vip"]}, {"status": "open"}
    condition = {"all": [
        {"field": "status", "operator": "changed_to", "value": "won"},
        {"field": "amount", "operator": "greater_or_equal", "value": 1000},
        {"not": {"field": "tags", "operator": "contains", "value": "test"}},
    ]}
    assert evaluate_event_condition(condition, data, previous)
    assert evaluate_event_condition({"any": [{"field": "x", "operator": "exists"}, condition]}, data, previous)
    assert not evaluate_event_condition({"field": "tags", "operator": "is_empty"}, data, previous)


# --- validation --------------------------------------------------------------------------

def test_valid_conditions_have_no_problems():
    assert validate_condition({"operatorName": "equals", "left": "{{s1.status}}", "right": "ok"}, "c",
                              form="comparison") == []
    assert validate_condition({"all": [{"field": "status", "operator": "changed_to", "value": "won"},
                                       {"not": {"field": "owner.id", "operator": "changed"}}]}, "c", form="field") == []


def test_validate_condition_reports_paths():
    here = "workflow_blocks.2.inputs.condition"
    problems = validate_condition({"any": [
        {"operatorName": "equals", "left": "{{7*7}}", "right": 1},
        {"operatorName": "changed_to", "left": "{{deal.status}}", "right": "won"},
        {"operatorName": "bigger", "left": 1, "right": 2},
        {"operatorName": "equals", "right": 2, "extra": 1},
        "nonsense",
        {"all": {"operatorName": "exists", "left": 1}},
    ]}, here, form="comparison")
    by_path = {p.path: p.message for p in problems}
    assert "not a plain path" in by_path[f"{here}.any.0.left"]
    assert by_path[f"{here}.any.1.operatorName"] == "changed_to is only allowed in event-trigger conditions"
    assert "unknown operator 'bigger'" in by_path[f"{here}.any.2.operatorName"]
    assert "equals" in by_path[f"{here}.any.2.operatorName"]
    assert by_path[f"{here}.any.3.left"] == "left is required"
    assert "unknown key 'extra'" in by_path[f"{here}.any.3.extra"]
    assert by_path[f"{here}.any.4"] == "a condition must be an object; got 'nonsense'"
    assert "list of conditions" in by_path[f"{here}.any.5.all"]
    assert len(problems) == 7


def test_validate_event_conditions():
    problems = validate_condition({"operator": "equals", "value": 1}, "trigger_configuration.conditions.0",
                                  form="field")
    assert problems[0].path == "trigger_configuration.conditions.0.field"
    assert validate_condition({"field": "status", "operator": "changed_to"}, "c", form="field")[0].path == "c.value"
    assert validate_condition({"field": "a.__x", "operator": "changed"}, "c", form="field")[0].path == "c.field"
    assert "one key" in validate_condition({"all": [], "field": "x"}, "c", form="field")[0].message


# --- JSON Logic --------------------------------------------------------------------------

DATA = {"deal": {"value": 60000, "stage": "won", "tags": ["vip"]}, "trigger": {"data": {"value": 60000}}, "n": None}


@pytest.mark.parametrize("rule, expected", [
    ({"var": "deal.value"}, 60000),
    ({"var": "trigger.data.value"}, 60000),
    ({"var": ["deal.nope", 7]}, 7),
    ({"var": "deal.tags.0"}, "vip"),
    ({"var": ""}, DATA),
    ({"and": [{">": [{"var": "deal.value"}, 50000]}, {"==": [{"var": "deal.stage"}, "won"]}]}, True),
    ({"or": [False, 0, "x"]}, "x"),
    ({"and": [1, 0, 2]}, 0),
    ({"<": [1, {"var": "deal.value"}, 100000]}, True),
    ({"<=": [1, 1, 0]}, False),
    ({">=": ["5", 5]}, True),
    ({"==": [1, "1"]}, True),
    ({"===": [1, "1"]}, False),
    ({"!==": [1, 1.0]}, False),
    ({"!": [[]]}, True),
    ({"!!": ["0"]}, True),
    ({"in": ["vip", {"var": "deal.tags"}]}, True),
    ({"in": ["ell", "hello"]}, True),
    ({"missing": ["deal.value", "deal.owner", "n"]}, ["deal.owner", "n"]),
    ({"missing_some": [1, ["deal.value", "x"]]}, []),
    ({"missing_some": [2, ["deal.value", "x"]]}, ["x"]),
    ({"if": [{"var": "n"}, "a", {">": [2, 1]}, "b", "c"]}, "b"),
    ({"?:": [False, 1, 2]}, 2),
    ({"+": [1, "2", 3.5]}, 6.5),
    ({"-": [5]}, -5),
    ({"*": [2, 3]}, 6),
    ({"/": [9, 3]}, 3),
    ({"%": [7, 3]}, 1),
    ({"max": [1, 9, 3]}, 9),
    ({"min": [4, 2]}, 2),
    ({"cat": ["a", 1, None, True]}, "a1nulltrue"),
    ({"substr": ["jsonlogic", 4]}, "logic"),
    ({"substr": ["jsonlogic", -5, 2]}, "lo"),
    ({"substr": ["jsonlogic", 1, -2]}, "sonlog"),
    ({"merge": [[1], 2, [3, [4]]]}, [1, 2, 3, [4]]),
    ({"map": [[1, 2], {"*": [{"var": ""}, 2]}]}, [2, 4]),
    ({"filter": [[1, 2, 3], {"%": [{"var": ""}, 2]}]}, [1, 3]),
    ({"reduce": [[1, 2, 3], {"+": [{"var": "current"}, {"var": "accumulator"}]}, 0]}, 6),
    ({"all": [[1, 2], {">": [{"var": ""}, 0]}]}, True),
    ({"all": [[], True]}, False),
    ({"some": [[0, 1], {"var": ""}]}, True),
    ({"none": [[0, ""], {"var": ""}]}, True),
    ([{"var": "deal.stage"}, 1], ["won", 1]),
    ("plain", "plain"),
])
def test_jsonlogic_samples(rule, expected):
    assert jsonlogic.apply(rule, DATA) == expected


@pytest.mark.parametrize("rule", [
    {"eval": ["1+1"]}, {">": [1]}, {"/": [1, 0]}, {"==": [1, 2], "!=": [1, 2]}, {"+": ["abc", 1]},
])
def test_jsonlogic_errors(rule):
    with pytest.raises(JsonLogicError):
        jsonlogic.apply(rule, DATA)


def test_jsonlogic_depth_is_bounded():
    rule: object = True
    for _ in range(100):
        rule = {"!": [rule]}
    with pytest.raises(JsonLogicError, match="deeper"):
        jsonlogic.apply(rule, {})
    assert "deeper" in jsonlogic.validate(rule, "trigger_constraints")[0].message


def test_jsonlogic_validate_reports_paths_without_evaluating():
    rule = {"and": [{">": [{"var": "deal.value"}, 1]}, {"exec": ["rm"]}, {"if": [{"/": [1, 0]}, {"<": [1]}]}]}
    problems = jsonlogic.validate(rule, "trigger_constraints")
    assert [p.path for p in problems] == ["trigger_constraints.and.1.exec", "trigger_constraints.and.2.if.1.<"]
    assert "unknown JSON Logic operator 'exec'" in problems[0].message
    assert jsonlogic.validate({"a": 1, "b": 2}, "t")[0].path == "t"
    assert jsonlogic.validate({"==": [{"var": "x"}, 1]}, "t") == []


def test_jsonlogic_budget_stops_before_large_values_are_built():
    acc = {"var": "accumulator"}
    doubling_list = {"reduce": [list(range(200)), [acc, acc], 1]}  # 2^200 leaves by shared references
    with pytest.raises(jsonlogic.BudgetExceeded):
        jsonlogic.apply({"==": [doubling_list, doubling_list]})
    with pytest.raises(jsonlogic.BudgetExceeded):
        jsonlogic.apply({"cat": [doubling_list]})
    assert jsonlogic.apply({"!!": [doubling_list]}) is True  # never walked: cheap
    squares = {"reduce": [list(range(60)), {"*": [acc, acc]}, 3]}  # no bignum: JavaScript numbers
    assert jsonlogic.apply(squares) == float("inf")
    with pytest.raises(jsonlogic.BudgetExceeded, match="list longer"):
        jsonlogic.apply({"map": [{"var": "xs"}, 1]}, {"xs": list(range(20_000))})


def test_jsonlogic_probe_charges_the_dearest_branch_not_their_sum():
    half = {"some": [list(range(jsonlogic.MAX_OPERATIONS // 10)), {"==": [{"var": ""}, -1]}]}
    assert jsonlogic.validate({"if": [{"var": "x"}, half, half]}, "t") == []
    [problem] = jsonlogic.validate({"and": [half, half, half]}, "t")
    assert problem.path.startswith("t.and.") and "operations" in problem.message
    assert jsonlogic.validate({"map": [{"var": "items"}, {"map": [{"var": "items"}, 1]}]}, "t") == []


@pytest.mark.parametrize("operator", ["<", "==", ">=", "<="])
def test_jsonlogic_budget_charges_for_long_strings_read_as_numbers(operator):
    # Issue 13 second look: a comparison cost one operation whatever its operands, but reading a
    # 1 MiB string as a number took ~0.1-0.3 s (a backtracking regex), so 20 of them stalled the API 2 s.
    import time
    data = {"s": "1" * (1 << 20) + "x"}
    rule = {"or": [{operator: [{"var": "s"}, 0]}] * 2_000}
    started = time.perf_counter()
    with pytest.raises(jsonlogic.BudgetExceeded, match="operations"):
        jsonlogic.apply(rule, data)
    assert time.perf_counter() - started < 0.5
    assert jsonlogic.apply({"<": [{"var": "s"}, 2]}, {"s": "1" * 5_000}) is False  # still read as a number


def test_a_long_string_that_is_not_a_number_is_read_in_linear_time():
    # Second look at issue 13: the number pattern gave back digits one by one (0.3 s for 1 MiB, per
    # condition of every workflow on the event); possessive, it fails at once.
    import time
    data = {"s": "1" * (1 << 20) + "x"}
    started = time.perf_counter()
    for _ in range(5):
        with pytest.raises(ExpressionError, match="needs numbers"):
            evaluate_event_condition({"field": "s", "operator": "greater_than", "value": 0}, data, None)
    assert time.perf_counter() - started < 0.5
