"""AWS SNS config: the seed era's fields, what verification and registration add, every
problem, and the seed-era ConfigMap loading unchanged."""

from __future__ import annotations

import subprocess
import sys

import yaml

from functions.aws_sns.config import SNSConfig
from gateways.config import parse_source
from tests.kit import REFERENCE_DATA, parser, problem_lister

parse = parser("aws-sns", SNSConfig)
problems = problem_lister("aws-sns")
SEED = REFERENCE_DATA / "argo-events-v0.10-examples" / "aws-sns.yaml"


def test_every_field() -> None:
    config = parse(
        r"""
        topicArn: arn:aws:sns:eu-west-1:123456789012:orders
        hook:
          endpoint: /sns
          port: "12000"
          url: https://hooks.example.com/sns
          serverCertPath: /tls/crt
          serverKeyPath: /tls/key
          maxPayloadSize: 262144
        accessKey: {name: aws-secret, key: accesskey}
        secretKey: {name: aws-secret, key: secretkey}
        region: eu-west-1
        endpoint: http://127.0.0.1:14566
        verifySignatures: false
        allowedHostPattern: 'sns\.eu-west-1\.example\.internal'
        caCertPath: /etc/private-ca.pem
        deleteHookOnFinish: true
        """
    )
    assert config.topic_arn == "arn:aws:sns:eu-west-1:123456789012:orders"
    hook = config.hook
    assert (hook.endpoint, hook.port, hook.url) == ("/sns", 12000, "https://hooks.example.com/sns")
    assert hook.tls == ("/tls/crt", "/tls/key") and hook.max_payload_size == 262144
    assert hook.methods == {"POST"}
    assert (
        config.access_key is not None
        and config.access_key.describe() == "secret aws-secret/accesskey"
    )
    assert config.secret_key is not None and config.secret_key.key == "secretkey"
    assert config.region == "eu-west-1"
    assert config.endpoint == "http://127.0.0.1:14566"
    assert config.verify_signatures is False
    assert config.allowed_hosts.fullmatch("sns.eu-west-1.example.internal")
    assert config.ca_cert_path == "/etc/private-ca.pem"
    assert config.delete_hook_on_finish is True
    assert config.protocol == "https"


def test_defaults() -> None:
    config = parse(
        """
        topicArn: arn:aws:sns:us-east-1:123456789012:t
        hook: {endpoint: /, port: 12000, url: "http://gw.example.com/"}
        region: us-east-1
        """
    )
    assert config.access_key is None and config.secret_key is None  # boto3's default chain
    assert config.endpoint is None and config.ca_cert_path is None
    assert config.verify_signatures is True and config.delete_hook_on_finish is False
    assert config.protocol == "http"


def test_default_allowed_host_is_sns_in_the_region() -> None:
    config = parse(
        """
        topicArn: t
        hook: {endpoint: /, url: "http://gw.example.com/"}
        region: us-east-1
        """
    )
    allowed = config.allowed_hosts
    assert allowed.fullmatch("sns.us-east-1.amazonaws.com")
    assert allowed.fullmatch("SNS.us-east-1.amazonaws.com")
    for host in (
        "sns.us-west-2.amazonaws.com",  # another region
        "sns.us-east-1.amazonaws.com.evil.example",
        "evil-sns.us-east-1.amazonaws.com",
        "snsXus-east-1.amazonaws.com",  # the dots are literal
        "s3.us-east-1.amazonaws.com",
        "127.0.0.1",
    ):
        assert not allowed.fullmatch(host), host
    china = parse("topicArn: t\nhook: {endpoint: /, url: 'http://x/'}\nregion: cn-north-1")
    assert china.allowed_hosts.fullmatch("sns.cn-north-1.amazonaws.com.cn")


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        """
        hook:
          endpoint: sns
          port: 70000
          serverCertPath: /only-cert
          colour: blue
        accessKey: {name: aws-secret, key: accesskey}
        region: US East
        endpoint: localhost:4566
        verifySignatures: maybe
        allowedHostPattern: "sns.(unclosed"
        deleteHookOnFinish: sometimes
        extra: 1
        """
    )
    assert found[0] == "topicArn: is required"
    assert set(found[1:]) == {
        "hook.endpoint: 'sns' must start with '/'",
        "hook.port: 70000 is more than 65535",
        "hook.serverKeyPath: TLS needs both serverCertPath and serverKeyPath",
        "hook.colour: unknown field",
        "hook.url: is required: SNS delivers to this URL, subscribed to topicArn",
        "secretKey: accessKey and secretKey go together (or leave both out for the default chain)",
        "region: 'US East' is not an AWS region name",
        "endpoint: 'localhost:4566' is not an http or https URL",
        "verifySignatures: 'maybe' is not true or false",
        "allowedHostPattern: 'sns.(unclosed' is not a regular expression: "
        "missing ), unterminated subpattern at position 4",
        "deleteHookOnFinish: 'sometimes' is not true or false",
        "extra: unknown field",
    }, found


def test_missing_hook_region_and_secret_parts() -> None:
    found = problems(
        """
        topicArn: t
        secretKey: {name: aws-secret}
        allowedHostPattern: ""
        hook: {endpoint: /, url: "ftp://x/"}
        """
    )
    assert set(found) == {
        "secretKey: needs {name, key}, {env} or {file}",
        "accessKey: accessKey and secretKey go together (or leave both out for the default chain)",
        "region: is required",
        "allowedHostPattern: must not be empty (leave it out for SNS's own host)",
        "hook.url: 'ftp://x/' is not an http or https URL",
    }, found
    assert problems("topicArn: t\nregion: us-east-1") == ["hook: is required (endpoint, port, url)"]


def test_the_seed_era_configmap_loads_unchanged() -> None:
    documents = [d for d in yaml.safe_load_all(SEED.read_text()) if d]
    data = documents[0]["data"]
    configs = {name: parse_source("aws-sns", name, text) for name, text in data.items()}
    assert set(configs) == {
        "example",
        "example-with-secure-connection",
        "example-without-credentials",
    }
    example = configs["example"]
    assert isinstance(example, SNSConfig)
    assert example.topic_arn == "topic-arn" and example.region == "us-east-1"
    assert (example.hook.endpoint, example.hook.port, example.hook.url) == (
        "/",
        12000,
        "http://myfakeurl.fake",
    )
    assert (
        example.access_key is not None
        and example.access_key.describe() == "secret aws-secret/accesskey"
    )
    assert (
        example.secret_key is not None
        and example.secret_key.describe() == "secret aws-secret/secretkey"
    )
    assert example.verify_signatures is True
    secure = configs["example-with-secure-connection"]
    assert isinstance(secure, SNSConfig)
    assert secure.hook.tls == ("some path in pod", "some path in pod")
    bare = configs["example-without-credentials"]
    assert isinstance(bare, SNSConfig) and bare.access_key is None and bare.secret_key is None


def test_gateways_validate_accepts_the_seed_file() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateways", "validate", "--type", "aws-sns", str(SEED)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 source(s) in 1 gateway(s), all valid" in result.stdout
