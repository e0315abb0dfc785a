"""Schemathesis hooks of the fuzz job (scripts/fuzz.py loads them through SCHEMATHESIS_HOOKS).

`cursor` on GET /v1/instances is opaque: signed by the API and bound to the tenant and the filters
of the listing that returned it, so no generated value is one the API issued, and refusing it
(400) is right, not a "schema-valid request rejected". The fuzzer's cursors are dropped so that
the acceptance checks still hold the other filters to the document; forged cursors are covered by
tests/app/test_hardening_body.py.
"""

from __future__ import annotations

import schemathesis

OPAQUE = {("GET", "/v1/instances"): "cursor"}


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    name = OPAQUE.get((case.method.upper(), case.path))
    if name and isinstance(case.query, dict):
        case.query.pop(name, None)
