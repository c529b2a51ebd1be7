"""JSON schemas of the structured answers FT-Agent asks its backbone for, one per stage.

The schema *name* travels in ``response_format`` with every call, so an endpoint (or the offline
scripted policy) knows which answer is expected.
"""

from __future__ import annotations

from typing import Any


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required or list(props)}


STR = {"type": "string", "minLength": 1}
TEXT = {"type": "string"}
CLASSES = ["CONFIG", "OOM", "DATA", "ENV", "TIMEOUT"]

SCHEMAS: dict[str, dict[str, Any]] = {
    "dataset_selection": _obj({"datasets": {"type": "array", "items": {"type": "string"}}, "reason": TEXT}),
    "plan_reason": _obj({"reason": STR}),
    "plan_hypothesis": _obj({"data_processing": STR, "training": STR}),
    "plan_task": _obj({"data_task": STR, "training_task": STR, "reuse_parent_data": {"type": "boolean"}}),
    "data_script": _obj({"script": STR}),
    "train_config": _obj({"config": {"type": "object"}}),
    "data_judge": _obj({"pass": {"type": "boolean"}, "reason": TEXT}),
    "feedback": _obj({"decision": {"enum": ["accept", "reject"]}, "reason": TEXT, "loss_analysis": TEXT,
                      "error_analysis": TEXT, "next_steps": TEXT}, ["decision", "reason"]),
    "failure_diagnosis": _obj({"failure_class": {"enum": CLASSES}, "root_cause": TEXT, "fix": TEXT}),
}
