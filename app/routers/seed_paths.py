"""Seeds 002's and 003's create paths on Relay's own `POST /v1/workflows`, so their examples work as
written (SPEC v2: only the host, the `/v1` prefix, the key and receiver URLs change).

- 002: `POST /api/v2/public/workflow` → `POST /v1/public/workflow`;
- 003: `POST /v1/accounts/{accountSid}/environments/{environmentSid}/buckets/{bucketSid}/workflows`.

The key (and 002's `linked_account_id`) decides the tenant, as on `POST /v1/workflows`; 003's account,
environment and bucket ids are accepted and not kept, like 002's `slug` (Relay has no accounts,
environments or buckets of its own; docs/seeds.md).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from app import views
from app.routers import workflows

router = APIRouter(tags=["workflows (seeds 002, 003)"])
SeedId = Annotated[str, Path(max_length=200, description="accepted and not kept: the key decides the tenant")]


def _bucket_path(accountSid: SeedId, environmentSid: SeedId, bucketSid: SeedId) -> None:
    """Declares (and bounds) seed 003's path ids; nothing reads them."""


router.add_api_route("/public/workflow", workflows.create_workflow, methods=["POST"], status_code=201,
                     response_model=views.one(views.WorkflowView),
                     summary="Create a workflow (seed 002's path for POST /v1/workflows)")
router.add_api_route("/accounts/{accountSid}/environments/{environmentSid}/buckets/{bucketSid}/workflows",
                     workflows.create_workflow, methods=["POST"], status_code=201,
                     response_model=views.one(views.WorkflowView), dependencies=[Depends(_bucket_path)],
                     summary="Create a workflow (seed 003's path for POST /v1/workflows)")
