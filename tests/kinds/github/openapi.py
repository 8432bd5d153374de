"""Requests checked against GitHub's REST description (``@octokit/openapi``).

:class:`Description` finds the operation of a method and path among every path of the
description, and lists every way a request breaks it: a path or query parameter the operation
does not declare or whose value does not fit its schema, a missing required parameter, a body
where the operation takes none, a body that is not JSON or does not validate against the
operation's request schema (``jsonschema``; OpenAPI 3.0's ``nullable`` read as JSON Schema's
``null`` type; a body property the schema does not name is refused, since the description
names every field GitHub reads). Responses are checked the same way, so the stand-in cannot
drift from it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft7Validator

METHODS = ("get", "put", "post", "patch", "delete", "head", "options")


def json_schema(schema: Any, *, closed: bool = False) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: ``nullable: true`` becomes a null alternative.

    ``closed``: an object that declares its properties takes no others (unless the schema
    says ``additionalProperties``): a request may send only the fields the description names.
    """
    if isinstance(schema, list):
        return [json_schema(item, closed=closed) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {
        key: json_schema(value, closed=closed)
        if key != "properties"
        else {name: json_schema(item, closed=closed) for name, item in value.items()}
        for key, value in schema.items()
        if key not in ("nullable", "example", "examples", "discriminator")
        and not key.startswith("x-")
    }
    if closed and "properties" in schema and "additionalProperties" not in schema:
        converted["additionalProperties"] = False
    if schema.get("nullable") is True:
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


@dataclass
class Operation:
    operation_id: str
    method: str
    template: str
    parameters: dict[tuple[str, str], dict[str, Any]]  # (in, name) -> parameter
    body_schema: Any | None  # JSON Schema of an application/json body, or None
    body_required: bool
    responses: dict[str, Any]  # status -> JSON Schema of the JSON body (None: no body)
    _validators: dict[str, Draft7Validator] = field(default_factory=dict)

    def validator(self, key: str, schema: Any) -> Draft7Validator:
        if key not in self._validators:
            self._validators[key] = Draft7Validator(schema)
        return self._validators[key]

    def request_problems(
        self, values: Mapping[str, str], query: Mapping[str, list[str]], body: bytes
    ) -> list[str]:
        """Every way this request breaks the operation (an empty list: it is allowed)."""
        problems = []
        for name, value in values.items():
            problems += self._parameter_problems("path", name, [value])
        for name, given in query.items():
            problems += self._parameter_problems("query", name, given)
        for (where, name), parameter in self.parameters.items():
            missing = where == "query" and name not in query
            if parameter.get("required") and missing:
                problems.append(f"query parameter {name} is required")
        problems += self._body_problems(body)
        return problems

    def response_problems(self, status: int, document: Any) -> list[str]:
        if str(status) not in self.responses:
            return [f"{self.operation_id} never answers {status}"]
        schema = self.responses[str(status)]
        if schema is None:
            return [] if document is None else [f"{status} has no body in the description"]
        validator = self.validator(f"response {status}", schema)
        return [f"response {status}: {_error(e)}" for e in validator.iter_errors(document)]

    def _parameter_problems(self, where: str, name: str, given: list[str]) -> list[str]:
        parameter = self.parameters.get((where, name))
        if parameter is None:
            return [f"{where} parameter {name!r} is not in the description"]
        if len(given) != 1:
            return [f"{where} parameter {name} given {len(given)} times"]
        schema = json_schema(parameter.get("schema", {}))
        value: Any = given[0]
        kind = schema.get("type")
        if kind == "integer" and re.fullmatch(r"-?[0-9]+", value):
            value = int(value)
        elif kind == "boolean" and value in ("true", "false"):
            value = value == "true"
        validator = self.validator(f"{where} {name}", schema)
        return [f"{where} parameter {name}: {_error(e)}" for e in validator.iter_errors(value)]

    def _body_problems(self, body: bytes) -> list[str]:
        if self.body_schema is None:
            return [] if not body else ["this operation takes no request body"]
        if not body:
            return ["a request body is required"] if self.body_required else []
        try:
            document = json.loads(body)
        except ValueError as exc:
            return [f"the request body is not JSON: {exc}"]
        schema, key = self.body_schema, "body"
        if document is not None and schema.get("anyOf", [None])[-1] == {"type": "null"}:
            schema, key = schema["anyOf"][0], "body, not null"  # name the field at fault
        validator = self.validator(key, schema)
        return [f"request body: {_error(e)}" for e in validator.iter_errors(document)]


class Description:
    """Every operation of the description, found by method and path."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.routes: list[tuple[re.Pattern[str], list[str], dict[str, Any], str]] = []
        for template, item in document["paths"].items():
            names = re.findall(r"{([^}]+)}", template)
            pattern = re.escape(template)
            for name in names:
                pattern = pattern.replace(re.escape("{" + name + "}"), "([^/]+)")
            self.routes.append((re.compile(pattern + "$"), names, item, template))
        # The most literal template first: /orgs/{org}/hooks before /orgs/{org}/{anything}.
        self.routes.sort(key=lambda route: -len(re.sub(r"{[^}]+}", "", route[3])))
        self._operations: dict[tuple[str, str], Operation] = {}

    def find(self, method: str, path: str) -> tuple[Operation | None, dict[str, str]]:
        """The operation of ``method path`` and its path parameter values; None if none."""
        for pattern, names, item, template in self.routes:
            match = pattern.match(path)
            if match is None:
                continue
            if method.lower() not in item:
                return None, {}
            return self._operation(method.lower(), template, item), dict(
                zip(names, match.groups(), strict=True)
            )
        return None, {}

    def _operation(self, method: str, template: str, item: Mapping[str, Any]) -> Operation:
        key = (method, template)
        if key not in self._operations:
            op = item[method]
            parameters = {
                (p["in"], p["name"]): p
                for p in [*item.get("parameters", []), *op.get("parameters", [])]
            }
            body = op.get("requestBody")
            content = (body or {}).get("content", {})
            body_schema = None
            if body is not None:
                schema = content.get("application/json", {}).get("schema", {})
                body_schema = json_schema(schema, closed=True)
            responses = {
                status: _json_body(answer) for status, answer in op.get("responses", {}).items()
            }
            self._operations[key] = Operation(
                op["operationId"],
                method,
                template,
                parameters,
                body_schema,
                bool((body or {}).get("required")),
                responses,
            )
        return self._operations[key]


def _json_body(answer: Mapping[str, Any]) -> Any:
    schema = answer.get("content", {}).get("application/json", {}).get("schema")
    return None if schema is None else json_schema(schema)


def _error(error: Any) -> str:
    where = "/".join(str(part) for part in error.absolute_path) or "(top)"
    return f"{where}: {error.message}"
