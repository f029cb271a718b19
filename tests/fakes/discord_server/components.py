"""Message and modal component trees: finding a component, what a user could enter in one, and how Discord stores
and submits them."""

from __future__ import annotations

import copy
import itertools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable


def _children(component: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        *component.get("components", []),
        *(component[key] for key in ("accessory", "component") if key in component),
    ]


def find(components: Iterable[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
    """The component with ``custom_id`` anywhere in a component tree."""
    for component in components:
        if component.get("custom_id") == custom_id:
            return component
        found = find(_children(component), custom_id)
        if found is not None:
            return found
    return None


def checked_text(component: dict[str, Any], value: str) -> str:
    """``value`` if a user could submit it in the text input ``component``."""
    if not value:
        if component.get("required", True):
            raise ValueError(f"text input {component['custom_id']!r} is required")
        return value
    low, high = component.get("min_length", 0), component.get("max_length", 4000)
    if not low <= len(value) <= high:
        raise ValueError(f"text input {component['custom_id']!r} takes {low}..{high} characters, not {len(value)}")
    return value


def checked_values(component: dict[str, Any], values: list[str]) -> list[str]:
    """``values`` if a user could pick them in the select menu ``component``."""
    options = {option["value"] for option in component.get("options", [])}
    if component["type"] == 3 and set(values) - options:
        raise ValueError(f"select {component['custom_id']!r} offers {sorted(options)}, not {values}")
    low = component.get("min_values", 1) if component.get("required", True) else 0
    high = component.get("max_values", 1)
    if not low <= len(values) <= high:
        raise ValueError(f"select {component['custom_id']!r} takes {low}..{high} values, not {len(values)}")
    return values


def with_ids(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy of ``components`` as Discord stores them: each one without an ``id`` gets the next free one, and a
    unicode emoji loses the ``"id": null`` discord.py sends with it."""
    tree = copy.deepcopy(components)

    def walk(nodes: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
        for node in nodes:
            yield node
            yield from walk(_children(node))

    used = {node["id"] for node in walk(tree) if "id" in node}
    free = (i for i in itertools.count(1) if i not in used)
    for node in walk(tree):
        node.setdefault("id", next(free))
        emoji = node.get("emoji")
        if isinstance(emoji, dict):
            node["emoji"] = {key: value for key, value in emoji.items() if value is not None}
    return tree


def modal_inputs(components: list[dict[str, Any]]) -> set[str]:
    """The custom ids of every input in a modal's components."""
    found: set[str] = set()
    for component in components:
        if "custom_id" in component:
            found.add(component["custom_id"])
        found |= modal_inputs(_children(component))
    return found


def modal_submission(components: list[dict[str, Any]], fields: dict[str, str | list[str]]) -> list[dict]:
    """A modal submission's components: the modal's layout, with each input's value from ``fields``."""
    submitted: list[dict[str, Any]] = []
    for component in components:
        entry: dict[str, Any] = {"type": component["type"]}
        if "id" in component:
            entry["id"] = component["id"]
        if component["type"] == 1:
            entry["components"] = modal_submission(component["components"], fields)
        elif component["type"] == 18:
            entry["component"] = modal_submission([component["component"]], fields)[0]
        elif component["type"] == 4:
            entry["custom_id"] = component["custom_id"]
            entry["value"] = checked_text(component, fields.get(component["custom_id"], ""))
        elif "custom_id" in component:  # select menus and other value pickers
            entry["custom_id"] = component["custom_id"]
            entry["values"] = checked_values(component, list(fields.get(component["custom_id"], [])))
        submitted.append(entry)
    return submitted
