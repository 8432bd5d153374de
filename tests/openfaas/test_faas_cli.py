"""The real faas-cli over stack.yml: its version, ``build --shrinkwrap`` (no container engine)
and ``generate`` (Function objects, checked against openfaas-crds/FIELDS.md made strict)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.manifests import REFERENCE, strict
from tests.deploy.test_functions_run import _image_layout
from tests.deploy.test_stack import stack
from tests.openfaas.tools import ANSI, FUNCTIONS, SUMMARY, TEMPLATE, faas_cli

# What the template's function/ folder brings that a handler folder does not replace.
TEMPLATE_EXTRAS = {"handler_test.py", "tox.ini"}


def files(folder: Path) -> set[str]:
    return {
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_version_is_printed(tmp_path: Path) -> None:
    done = faas_cli("version", "--warn-update=false", cwd=tmp_path)
    lines = [ANSI.sub("", line).rstrip() for line in done.stdout.splitlines()]
    cli = lines.index("CLI:")
    SUMMARY[:0] = ["faas-cli version:", *(f"  {line}" for line in lines[cli : cli + 3])]
    assert re.fullmatch(r"\s+version: \d+\.\d+\.\d+", lines[cli + 2]), lines


@pytest.mark.parametrize("name", FUNCTIONS)
def test_shrinkwrap_is_the_template_plus_the_layout_the_deploy_tests_rebuild(
    name: str, shrinkwrapped: Path, tmp_path: Path
) -> None:
    context = shrinkwrapped / name
    assert sorted(p.name for p in context.iterdir()) == [
        "Dockerfile",
        "function",
        "index.py",
        "requirements.txt",
        "template.yml",
    ]
    for copied in ("Dockerfile", "index.py", "requirements.txt"):
        assert (context / copied).read_bytes() == (TEMPLATE / copied).read_bytes(), copied
    # tests/deploy's rebuilt /home/app/function is what faas-cli made, file for file.
    rebuilt = _image_layout(tmp_path / "home" / "app", name)
    assert files(context / "function") == files(rebuilt) | TEMPLATE_EXTRAS
    for path in files(rebuilt):
        assert (context / "function" / path).read_bytes() == (rebuilt / path).read_bytes(), path
    function = context / "function"
    assert (function / "handler.py").read_text().startswith('"""OpenFaaS `python3-http`')
    for path in ("gateways", "functions", "adapters"):
        assert (function / path / "__init__.py").is_file(), path
    assert (function / "pyproject.toml").is_file()


def test_the_build_sees_the_stack_files_build_args(shrinkwrapped: Path) -> None:
    """The Dockerfile takes PYTHON_VERSION and TEST_ENABLED, the build_args stack.yml passes."""
    for name in FUNCTIONS:
        dockerfile = (shrinkwrapped / name / "Dockerfile").read_text()
        for argument in stack()["functions"][name]["build_args"]:
            assert re.search(rf"^ARG {argument}\b", dockerfile, re.MULTILINE), (name, argument)


# ------------------------------------------------------------------------- faas-cli generate

TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "boolean": {"type": "boolean"},
    "list of string": {"type": "array", "items": {"type": "string"}},
    "map of string to string": {"type": "object", "additionalProperties": {"type": "string"}},
}


def _field_type(text: str) -> dict[str, Any]:
    if text in TYPES:
        return TYPES[text]
    names = re.findall(r"`(\w+)` \(string\)", text)
    assert text.startswith("object with") and names, f"FIELDS.md type not understood: {text}"
    return {"type": "object", "properties": {n: {"type": "string"} for n in names}}


def function_schema() -> dict[str, Any]:
    """The Function CRD's schema as openfaas-crds/FIELDS.md describes its spec (the upstream
    YAML is not in the reference data); status is the controller's, so generate writes none."""
    doc = (REFERENCE / "openfaas-crds" / "FIELDS.md").read_text()
    section = doc.split("## Function")[1].split("\n`status`:")[0]
    table = dict(re.findall(r"^\| `(\w+)` \| (.+?) \|$", section, re.MULTILINE))
    assert {"name", "image", "environment", "limits"} <= set(table), table
    required = re.search(r"`spec` \(requires `(\w+)` and `(\w+)`\)", section)
    assert required is not None
    return {
        "type": "object",
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string", "enum": ["openfaas.com/v1"]},
            "kind": {"type": "string", "enum": ["Function"]},
            "metadata": {"type": "object"},
            "spec": {
                "type": "object",
                "required": list(required.groups()),
                "properties": {name: _field_type(kind) for name, kind in table.items()},
            },
        },
    }


def _errors(body: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(strict(function_schema()))
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator.iter_errors(body)
    ]


@pytest.fixture(scope="module")
def generated(shrinkwrapped: Path) -> dict[str, dict[str, Any]]:
    done = faas_cli(
        "generate", "--api=openfaas.com/v1", "-f", "stack.yml", cwd=shrinkwrapped.parent
    )
    return {d["metadata"]["name"]: d for d in yaml.safe_load_all(done.stdout) if d}


def test_generate_gives_one_function_each_matching_the_strict_schema(
    generated: dict[str, dict[str, Any]],
) -> None:
    assert set(generated) == set(FUNCTIONS)
    errors = {name: _errors(body) for name, body in generated.items()}
    assert {name: found for name, found in errors.items() if found} == {}


def test_generated_functions_carry_the_stack_files_settings(
    generated: dict[str, dict[str, Any]],
) -> None:
    for name, function in stack()["functions"].items():
        body = generated[name]
        assert body["metadata"]["namespace"] == "openfaas-fn"
        spec = body["spec"]
        assert spec["name"] == name
        assert spec["image"] == f"localhost:5000/gateways-fn-{name}:0.1.0"
        assert spec["environment"] == function["environment"]
        assert spec["labels"] == function["labels"]
        assert spec["annotations"] == function["annotations"]
        assert spec.get("secrets", []) == function.get("secrets", [])
        assert spec["requests"] == function["requests"]
        assert spec["limits"]["memory"] == function["limits"]["memory"]


def test_strict_schema_refuses_an_unknown_field_and_a_wrong_type(
    generated: dict[str, dict[str, Any]],
) -> None:
    body = yaml.safe_load(yaml.safe_dump(generated["webhook"]))
    body["spec"]["scale"] = {"min": 1}
    body["spec"]["limits"]["gpu"] = "1"
    body["spec"]["labels"]["com.openfaas.scale.max"] = 10
    errors = _errors(body)
    assert any(e.startswith("spec:") and "'scale'" in e for e in errors), errors
    assert any(e.startswith("spec.limits:") and "'gpu'" in e for e in errors), errors
    assert any(e.startswith("spec.labels.com.openfaas.scale.max:") for e in errors), errors
