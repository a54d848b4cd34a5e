"""The OpenAPI schema's shared parts: every operation's error answers, documented once."""

from __future__ import annotations

ERROR_SCHEMA = {
    "type": "object",
    "description": "What went wrong: ``detail`` for a refusal; for invalid parameters, each "
    "parameter's name with its errors.",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": True,
}

ERRORS = {
    "400": "Invalid parameters: each one named, with what is wrong with it.",
    "401": "The token is not valid.",
    "403": "The caller's role may not read this (see the access rules).",
    "404": "No such thing, or no such format.",
    "406": "None of the formats the caller accepts.",
    "429": "Too many calls: wait as the Retry-After header says.",
}


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: the error answers every operation may give."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path in result.get("paths", {}).values():
        for operation in path.values():
            # Anonymous calls are welcome: signing in only widens what the caller reads.
            security = operation.setdefault("security", [])
            if {} not in security:
                security.append({})
            responses = operation.setdefault("responses", {})
            for status, description in ERRORS.items():
                responses.setdefault(
                    status,
                    {
                        "description": description,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    },
                )
    return result
