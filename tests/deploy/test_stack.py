"""stack.yml against the OpenFaaS stack-file format (openfaas-stack/FIELDS.md in
../shared/reference-data), and its handlers and build inputs against the project."""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.manifests import REFERENCE, ROOT, STACK

# The stack file's keys and YAML types, as FIELDS.md lists them.
STR, BOOL = "string", "boolean"
STR_LIST, STR_MAP = ("list", STR), ("map", STR)
RESOURCES = {"memory": STR, "cpu": STR}
FUNCTION = {
    "lang": STR,
    "handler": STR,
    "image": STR,
    "fprocess": STR,
    "environment": STR_MAP,
    "secrets": STR_LIST,
    "skip_build": BOOL,
    "constraints": STR_LIST,
    "environment_file": STR_LIST,
    "labels": STR_MAP,
    "annotations": STR_MAP,
    "limits": RESOURCES,
    "requests": RESOURCES,
    "readonly_root_filesystem": BOOL,
    "build_options": STR_LIST,
    "build_args": STR_MAP,
    "build_secrets": STR_MAP,
    "namespace": STR,
    "platforms": STR,
}
PROVIDER = {"name": STR, "gateway": STR}
CONFIGURATION = {"templates": ("list", {"name": STR, "source": STR}), "copy": STR_LIST}
STACK_FILE = {
    "version": STR,
    "provider": PROVIDER,
    "functions": ("map", FUNCTION),
    "configuration": CONFIGURATION,
}


def problems(value: Any, spec: Any, where: str = "") -> list[str]:
    """Every unknown key and wrong type in ``value`` against ``spec``."""
    if spec == STR:
        return [] if isinstance(value, str) else [f"{where}: expected a string, got {value!r}"]
    if spec == BOOL:
        return [] if isinstance(value, bool) else [f"{where}: expected a boolean, got {value!r}"]
    if isinstance(spec, tuple):
        container, item = spec
        if container == "list":
            if not isinstance(value, list):
                return [f"{where}: expected a list, got {value!r}"]
            return [p for i, v in enumerate(value) for p in problems(v, item, f"{where}[{i}]")]
        if not isinstance(value, dict):
            return [f"{where}: expected a map, got {value!r}"]
        return [p for k, v in value.items() for p in problems(v, item, f"{where}.{k}")]
    if not isinstance(value, dict):
        return [f"{where}: expected an object, got {value!r}"]
    found = [f"{where}.{key}: unknown key" for key in value if key not in spec]
    for key, item in value.items():
        if key in spec:
            found += problems(item, spec[key], f"{where}.{key}")
    return found


def substitute(text: str, env: dict[str, str]) -> str:
    """faas-cli's envsubst: ``${VAR}`` and ``${VAR:-default}``; unset is empty."""

    def value(match: re.Match[str]) -> str:
        return env.get(match.group(1)) or (match.group(3) or "")

    return re.sub(r"\$\{(\w+)(:-([^}]*))?\}", value, text)


def stack() -> dict[str, Any]:
    return yaml.safe_load(substitute(STACK.read_text(), {}))


def test_spec_lists_exactly_the_keys_of_fields_md() -> None:
    doc = (REFERENCE / "openfaas-stack" / "FIELDS.md").read_text()
    sections = re.split(r"^#+ ", doc, flags=re.MULTILINE)

    def keys(title: str) -> set[str]:
        section = next(s for s in sections if s.startswith(title))
        return set(re.findall(r"^\| `(\w+)` \|", section, re.MULTILINE))

    assert keys("Top-level keys") == set(STACK_FILE)
    assert keys("`provider`") == set(PROVIDER)
    assert keys("`configuration`") == set(CONFIGURATION)
    assert keys("Per-function keys") == set(FUNCTION)


def test_stack_file_has_only_known_keys_of_the_right_types() -> None:
    document = stack()
    assert problems(document, STACK_FILE) == []
    assert document["version"] == "1.0"
    assert document["provider"] == {"name": "openfaas", "gateway": "http://127.0.0.1:8080"}


def test_checker_catches_an_unknown_key_and_a_wrong_type() -> None:
    document = stack()
    document["functions"]["webhook"]["scale"] = {"min": 1}
    document["functions"]["calendar"]["labels"]["com.openfaas.scale.max"] = 1
    document["functions"]["dispatcher"]["secrets"] = "one"
    document["provider"]["url"] = "http://x"
    found = problems(document, STACK_FILE)
    assert ".functions.webhook.scale: unknown key" in found
    assert ".provider.url: unknown key" in found
    assert any(
        p.startswith(".functions.calendar.labels.com.openfaas.scale.max: expected a string")
        for p in found
    )
    assert any(p.startswith(".functions.dispatcher.secrets: expected a list") for p in found)


def test_image_substitution_defaults_and_overrides() -> None:
    text = STACK.read_text()
    assert "localhost:5000/gateways-fn-webhook" in substitute(text, {})
    assert "registry.test/gateways-fn-webhook" in substitute(
        text, {"GATEWAYS_REGISTRY": "registry.test"}
    )


def test_three_python3_http_functions_with_existing_handlers() -> None:
    functions = stack()["functions"]
    assert set(functions) == {"webhook", "calendar", "dispatcher"}
    for name, function in functions.items():
        assert function["lang"] == "python3-http"
        assert function["handler"] == f"./functions/{name}"
        assert (ROOT / function["handler"] / "handler.py").is_file()
        module = importlib.import_module(f"functions.{name}.handler")
        assert callable(module.handle)
        assert function["build_args"]["PYTHON_VERSION"] == "3.11"


def test_calendar_is_driven_by_the_cron_connector() -> None:
    calendar = stack()["functions"]["calendar"]
    assert calendar["annotations"]["topic"] == "cron-function"
    assert len(calendar["annotations"]["schedule"].split()) == 5
    assert calendar["labels"]["com.openfaas.scale.max"] == "1"


def test_scale_labels_and_service_accounts() -> None:
    accounts = {
        m["metadata"]["name"]
        for m in yaml.safe_load_all((ROOT / "openfaas" / "functions-rbac.yaml").read_text())
        if m["kind"] == "ServiceAccount"
    }
    for name, function in stack()["functions"].items():
        labels = function["labels"]
        assert {
            "com.openfaas.scale.min",
            "com.openfaas.scale.max",
            "com.openfaas.scale.zero",
        } <= set(labels)
        assert int(labels["com.openfaas.scale.min"]) <= int(labels["com.openfaas.scale.max"]), name
        assert labels["com.openfaas.scale.zero"] in ("true", "false"), name
        assert function["annotations"]["com.openfaas.serviceaccount"] in accounts, name
        assert function["environment"]["NAMESPACE"] == "openfaas-fn", name


def test_copied_paths_exist_and_make_the_handlers_importable() -> None:
    configuration = stack()["configuration"]
    copied = [Path(p) for p in configuration["copy"]]
    for path in copied:
        assert (ROOT / path).exists(), f"{path}: faas-cli build would fail"
    top = {path.parts[0] for path in copied}
    assert {"gateways", "functions", "adapters", "pyproject.toml"} <= top
    for function in stack()["functions"].values():
        # The copies land in /home/app/function/<path>; that folder must be on the path.
        assert function["environment"]["PYTHONPATH"] == "/home/app/function"


@pytest.mark.parametrize("name", ["webhook", "calendar", "dispatcher"])
def test_requirements_are_the_projects_runtime_dependencies(name: str) -> None:
    """The template runs `pip install -r requirements.txt` before the handler folder and the
    copied code are in the image, so the file can't install the project; it names its
    dependencies instead."""
    wanted = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    lines = (ROOT / "functions" / name / "requirements.txt").read_text().splitlines()
    listed = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert listed == wanted
    assert not any(line.startswith(("-e", ".", "/")) for line in listed)


def test_no_secret_values_and_secrets_by_name() -> None:
    for function in stack()["functions"].values():
        for secret in function.get("secrets", []):
            assert re.fullmatch(r"[a-z0-9-]+", secret)
        for key in function["environment"]:
            assert not re.search(r"PASSWORD|TOKEN|SECRET_KEY", key), key
