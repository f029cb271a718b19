"""The bot's requests, and the fake's own answers, checked against Discord's published OpenAPI spec."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.fakes.contract import discord_contract

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from tests.fakes.contract import ApiContract, NoContract


def _with_string_snowflakes(body: Any) -> Any:
    """``body`` with integer ids written as strings where discord.py sends integers.

    The spec types snowflakes as strings; Discord also accepts JSON integers, and discord.py sends them for
    attachment ids (file indices), allowed mentions, message references and a DM's recipient.
    """
    if isinstance(body, list):
        return [_with_string_snowflakes(item) for item in body]
    if not isinstance(body, dict):
        return body
    fixed = {
        key: _with_string_snowflakes(value) if key in ("data", "message") else value for key, value in body.items()
    }
    if isinstance(fixed.get("attachments"), list):
        fixed["attachments"] = [
            a | {"id": str(a["id"])} if isinstance(a, dict) and "id" in a else a for a in fixed["attachments"]
        ]
    mentions = fixed.get("allowed_mentions")
    if isinstance(mentions, dict):
        fixed["allowed_mentions"] = mentions | {
            k: [str(i) for i in mentions[k]] for k in ("users", "roles") if k in mentions
        }
    reference = fixed.get("message_reference")
    if isinstance(reference, dict):
        fixed["message_reference"] = {k: str(v) if k.endswith("_id") else v for k, v in reference.items()}
    if isinstance(fixed.get("recipient_id"), int):
        fixed["recipient_id"] = str(fixed["recipient_id"])
    if isinstance(fixed.get("sticker_ids"), list):
        fixed["sticker_ids"] = [str(i) for i in fixed["sticker_ids"]]
    return fixed


def require_routes(templates: Iterable[str]) -> None:
    """Fail unless Discord's spec has every one of these path templates."""
    paths = discord_contract().document["paths"]
    missing = [template for template in templates if template not in paths]
    if missing:
        raise KeyError(f"Discord's spec has no routes {missing}")


def operation(method: str, template: str) -> dict[str, Any]:
    """The spec's operation for ``method`` on the path ``template``."""
    return discord_contract().document["paths"][template][method.lower()]


class SpecChecks:
    """Notes, through ``violation``, every way a request or an answer departs from the spec.

    Bodies are validated by ``contract`` (a :class:`NoContract` skips that); query parameters and whether a body is
    expected are always checked.
    """

    def __init__(self, contract: ApiContract | NoContract, violation: Callable[[str], None]) -> None:
        self._contract = contract
        self._violation = violation

    def query(self, where: str, spec: dict[str, Any], query: Any) -> None:
        """Check a request's query parameters against its operation ``spec``."""
        params = {p["name"]: p.get("schema", {}) for p in spec.get("parameters", []) if p.get("in") == "query"}
        for name, value in query.items():
            if name not in params:
                self._violation(f"{where}: unknown query parameter {name}={value!r}")
            elif params[name].get("type") == "boolean" and value.lower() not in ("true", "false", "1", "0"):
                self._violation(f"{where}: query parameter {name}={value!r} is not a boolean")

    def request(self, where: str, spec: dict[str, Any], body: Any, content_type: str) -> None:
        """Check a request's body (a multipart request's payload_json) against its operation ``spec``."""
        spec_body = spec.get("requestBody")
        if spec_body is None:
            if body is not None:
                self._violation(f"{where}: the spec takes no request body")
            return
        if body is None:
            if spec_body.get("required"):
                self._violation(f"{where}: request body missing")
            return
        if content_type not in spec_body["content"]:
            self._violation(f"{where}: the spec takes no {content_type} body")
            return
        method, template = where.split(" ", 1)
        for error in self._contract.request_errors(method, template, _with_string_snowflakes(body), content_type):
            self._violation(f"{where}: request: {error}")

    def schema(self, where: str, name: str, instance: Any) -> None:
        """Check a JSON object the fake sends outside any REST answer (in a gateway event, say) against the spec's
        component schema ``name``."""
        for error in self._contract.schema_errors(name, instance):
            self._violation(f"{where}: fake's {name}: {error}")

    def response(self, method: str, template: str, status: int, body: Any) -> None:
        """Check the fake's own answer: an error body, or what the spec says this route answers."""
        where = f"{method} {template}"
        if status >= 400:
            errors = self._contract.schema_errors("ErrorResponse", body)
        else:
            answer = operation(method, template)["responses"].get(str(status))
            has_json = answer is not None and "application/json" in answer.get("content", {})
            if answer is None or has_json != (body is not None):
                self._violation(f"{where}: fake answered {status} {'with' if body else 'without'} a body")
                return
            errors = self._contract.response_errors(method, template, status, body) if has_json else []
        for error in errors:
            self._violation(f"{where}: fake's response: {error}")
