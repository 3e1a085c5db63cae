"""JSON merge patch (RFC 7396): a patch object names what changes; `null` removes a key; anything but an object
replaces what it patches whole."""

from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """The target with the patch applied (a new document; neither argument is changed)."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged
