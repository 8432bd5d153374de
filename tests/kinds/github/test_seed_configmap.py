"""The seed era's GitHub ConfigMap runs as it is in ``gateways up``: each source registers its
hook (at the stand-in GitHub API) and receives a delivery on its own port, one of them TLS."""

from __future__ import annotations

import ssl
from pathlib import Path

import aiohttp
import pytest
import yaml

from tests.kinds.github.conftest import API_TOKEN
from tests.kinds.github.standin import GitHubStandIn
from tests.kinds.github.support import SECRET_ENV, delivery, post
from tests.kit import (
    REFERENCE_DATA,
    free_port,
    self_signed,
    start_gateway,
    wait_until,
    write_registry,
)
from tests.watcher import RecordingWatcher

pytestmark = pytest.mark.timeout(60)
SEED = REFERENCE_DATA / "argo-events-v0.10-examples" / "github.yaml"


async def test_the_seed_era_configmap_registers_and_receives_on_each_port(
    tmp_path: Path,
    watcher: RecordingWatcher,
    github_api: GitHubStandIn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The seed era's file as it is, but for its ports (12000 and 13000 may be taken here), its
    TLS paths ("some path in pod", here a certificate made for the test) and one added field,
    githubBaseURL, so that registration talks to the stand-in, not to api.github.com."""
    for name, value in {**SECRET_ENV, "GITHUB_ACCESS_TOKEN": API_TOKEN}.items():
        monkeypatch.setenv(name, value)
    github_api.repositories = ("argoproj/argo-events", "argoproj/argo")
    cert, key = self_signed(tmp_path)
    plain, secure = free_port(), free_port()
    text = SEED.read_text()
    text = text.replace('port: "12000"', f'port: "{plain}"').replace(
        'port: "13000"', f'port: "{secure}"'
    )
    text = text.replace('serverCertPath: "some path in pod"', f'serverCertPath: "{cert}"')
    text = text.replace('serverKeyPath: "some path in pod"', f'serverKeyPath: "{key}"')
    text = text.replace("    owner:", f"    githubBaseURL: {github_api.base_url}\n    owner:")
    [document] = [d for d in yaml.safe_load_all(text) if d]
    document["metadata"]["annotations"] = {"gateways.dev/watchers": yaml.safe_dump([watcher.url])}
    path = write_registry(tmp_path / "seed.yaml", document)
    runtime = await start_gateway(path, tmp_path, gateway_type="github")
    try:
        await wait_until(
            lambda: [s.state for s in runtime.reconciler.status()] == ["running", "running"],
            10,
            runtime.reconciler.status,
        )
        [events_hook] = github_api.hooks_of("repos/argoproj/argo-events")
        assert events_hook.url == "http://myfakeurl.fake" and events_hook.events == ["*"]
        [argo_hook] = github_api.hooks_of("repos/argoproj/argo")
        assert argo_hook.url == "http://myargofakeurl.fake"
        assert (argo_hook.events, argo_hook.config["insecure_ssl"]) == (["push", "delete"], "1")
        payload = {"ref": "refs/heads/master", "repository": {"full_name": "argoproj/argo"}}
        body, headers = delivery("push", payload)
        context = ssl.create_default_context(cafile=str(cert))
        async with aiohttp.ClientSession() as session:
            assert (await post(session, f"http://127.0.0.1:{plain}/push", body, headers))[0] == 200
            async with session.post(
                f"https://127.0.0.1:{secure}/push", data=body, headers=headers, ssl=context
            ) as reply:
                assert reply.status == 200
        events = [r.event for r in await watcher.wait_for(2)]
        assert [(e.source, e.type) for e in events if e is not None] == [
            ("/gateways/github-event-source/example", "dev.gateways.github.push"),
            (
                "/gateways/github-event-source/example-with-secure-connection",
                "dev.gateways.github.push",
            ),
        ]
    finally:
        await runtime.stop()
    assert github_api.violations == [] and github_api.self_check == []
