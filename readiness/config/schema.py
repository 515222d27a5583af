"""JSON Schemas for profile and site files, generated from the same models that validate them."""

from __future__ import annotations

from typing import Any

from .profile import ProfileSpec
from .site import SiteSpec

SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"


def profile_schema() -> dict[str, Any]:
    return {"$schema": SCHEMA_URI, **ProfileSpec.model_json_schema()}


def site_schema() -> dict[str, Any]:
    return {"$schema": SCHEMA_URI, **SiteSpec.model_json_schema()}
