"""Contract checks against Discord's and OpenAI's published OpenAPI specs.

The specs come from ``API_SPECS_DIR`` if set, else the shared copy beside the repository (``../shared/specs``),
else the copies vendored in ``tests/specs``. The fakes validate every request the bot sends and every response they
answer, so neither side can drift from the real services.
"""

import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SHARED_SPECS_DIR = Path(__file__).resolve().parents[3] / "shared" / "specs"
VENDORED_SPECS_DIR = Path(__file__).resolve().parents[1] / "specs"


def specs_dir() -> Path:
    """Where the published specs are; a missing folder is an error, never a silent skip."""
    fallback = SHARED_SPECS_DIR if SHARED_SPECS_DIR.is_dir() else VENDORED_SPECS_DIR
    folder = Path(os.environ.get("API_SPECS_DIR") or fallback)
    if not folder.is_dir():
        raise FileNotFoundError(f"API specs not found at {folder}; set API_SPECS_DIR")
    return folder


def _pointer(*parts: str) -> str:
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


@dataclass
class ApiContract:
    """One published OpenAPI document, able to validate bodies of its routes."""

    name: str
    document: dict[str, Any]
    _validators: dict[str, Draft202012Validator] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        resource = Resource.from_contents(self.document, default_specification=DRAFT202012)
        self._registry = Registry().with_resource(f"urn:{self.name}", resource)

    def _validator(self, pointer: str) -> Draft202012Validator:
        if pointer not in self._validators:
            self._resolve(pointer)  # fail loudly on a route or schema the spec does not have
            schema = {"$ref": f"urn:{self.name}#{pointer}"}
            self._validators[pointer] = Draft202012Validator(schema, registry=self._registry)
        return self._validators[pointer]

    def _resolve(self, pointer: str) -> Any:
        node: Any = self.document
        for raw in pointer.split("/")[1:]:
            key = raw.replace("~1", "/").replace("~0", "~")
            if key not in node:
                raise KeyError(f"{self.name} spec has no {pointer!r}")
            node = node[key]
        return node

    def _errors(self, pointer: str, instance: Any) -> list[str]:
        validator = self._validator(pointer)
        if validator.is_valid(instance):
            return []
        error = best_match(validator.iter_errors(instance))
        where = "/".join(str(p) for p in error.absolute_path) or "<root>"
        return [f"{pointer}: at {where}: {error.message[:300]}"]

    def request_errors(self, method: str, route: str, body: Any, content_type: str = "application/json") -> list[str]:
        """Problems with a request body sent to ``route`` (the spec's path template)."""
        pointer = _pointer("paths", route, method.lower(), "requestBody", "content", content_type, "schema")
        return self._errors(pointer, body)

    def response_errors(
        self, method: str, route: str, status: int, body: Any, content_type: str = "application/json"
    ) -> list[str]:
        """Problems with a response body answered on ``route`` with ``status``."""
        pointer = _pointer("paths", route, method.lower(), "responses", str(status), "content", content_type, "schema")
        return self._errors(pointer, body)

    def schema_errors(self, schema_name: str, instance: Any) -> list[str]:
        """Problems with ``instance`` as the named component schema (e.g. ``ImageGenCompletedEvent``)."""
        return self._errors(_pointer("components", "schemas", schema_name), instance)


class NoContract:
    """Stands in for a contract when a benchmark wants the fakes' traffic without the cost of validating it."""

    def request_errors(self, *args: Any, **kwargs: Any) -> list[str]:
        """Nothing is checked."""
        return []

    response_errors = schema_errors = request_errors


@cache
def discord_contract() -> ApiContract:
    """Discord's REST API v10 as published in discord/discord-api-spec."""
    return ApiContract("discord", json.loads((specs_dir() / "discord-openapi.json").read_text("utf-8")))


@cache
def openai_contract() -> ApiContract:
    """OpenAI's API as published in openai/openai-openapi (paths without the ``/v1`` prefix)."""
    return ApiContract("openai", json.loads((specs_dir() / "openai-openapi.json").read_text("utf-8")))
