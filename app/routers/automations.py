"""Seed 004's paths (`/v1/automations…`) on Relay's own endpoints, so its examples work as written.

A template is a workflow and an instance is a run: the list is `GET /v1/workflows`, the trigger is
`POST /v1/workflows/{id}/trigger` (with `entityType`/`entityId`), the cancel takes an instance id
like `POST /v1/instances/{id}/cancel`. Answers are Relay's (docs/seeds.md says how they
differ from the seed's).
"""

from __future__ import annotations

from fastapi import APIRouter

from app import views
from app.routers import instances, workflows

router = APIRouter(prefix="/automations", tags=["automations (seed 004)"])
router.add_api_route("", workflows.list_workflows, methods=["GET"], response_model=views.page(views.WorkflowView),
                     summary="List automation templates (workflows)")
router.add_api_route("/{workflow_id}/trigger", workflows.trigger_workflow, methods=["POST"], status_code=201,
                     response_model=views.one(views.InstanceView),
                     summary="Trigger an automation (a workflow)")
router.add_api_route("/{instance_id}/cancel", instances.cancel_instance, methods=["POST"],
                     response_model=views.one(views.InstanceView),
                     summary="Cancel an automation instance (a run)")
