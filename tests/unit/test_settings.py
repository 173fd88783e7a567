"""Settings: the CALLPIPE_ prefix, the SDKs' standard variables, per-service endpoints, secrets kept secret."""

import pytest

from shared.config import Settings


def test_reads_prefixed_and_standard_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLPIPE_NAME_PREFIX", "acme-prod")
    monkeypatch.setenv("CALLPIPE_CONSUMER_CONCURRENCY", "7")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:4566")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key-1234567890")
    s = Settings()
    assert (s.name_prefix, s.consumer_concurrency, s.aws_region) == ("acme-prod", 7, "eu-west-1")
    assert s.endpoint_for("sqs") == "http://127.0.0.1:4566"
    assert s.endpoint_for("dynamodb") == "http://127.0.0.1:5000"
    assert "sk-test-key" not in repr(s)
    assert s.secret_values() == ["sk-test-key-1234567890"]


def test_rejects_a_prefix_that_cannot_name_a_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLPIPE_NAME_PREFIX", "Bad_Prefix")
    with pytest.raises(ValueError, match="name_prefix"):
        Settings()


@pytest.mark.parametrize(
    ("raw", "hosts"),
    [
        ("127.0.0.1", ["127.0.0.1"]),
        ("127.0.0.1, .Amazonaws.com ,", ["127.0.0.1", ".amazonaws.com"]),
        ('["127.0.0.1", ".webex.com"]', ["127.0.0.1", ".webex.com"]),
        ("::1, 127.0.0.1", ["::1", "127.0.0.1"]),
    ],
)
def test_download_hosts_are_a_comma_separated_list_or_json(
    monkeypatch: pytest.MonkeyPatch, raw: str, hosts: list[str]
) -> None:
    monkeypatch.setenv("CALLPIPE_WXCC_DOWNLOAD_HOSTS", raw)
    assert Settings().wxcc_download_hosts == hosts


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("http://127.0.0.1:8089", "which is not a host name"),
        ("127.0.0.1:8089", "which is not a host name"),
        ('["127.0.0.1"', "not a valid JSON list"),
    ],
)
def test_download_hosts_that_cannot_match_a_host_are_refused(
    monkeypatch: pytest.MonkeyPatch, raw: str, reason: str
) -> None:
    monkeypatch.setenv("CALLPIPE_WXCC_DOWNLOAD_HOSTS", raw)
    with pytest.raises(ValueError, match=reason):
        Settings()


def test_an_empty_endpoint_variable_means_unset_and_a_url_needs_a_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "")
    monkeypatch.setenv("OPENAI_BASE_URL", " ")
    s = Settings()
    assert (s.aws_endpoint_url, s.openai_base_url, s.endpoint_for("sqs")) == (None, None, None)
    monkeypatch.setenv("CALLPIPE_WXCC_BASE_URL", "127.0.0.1:8089")
    with pytest.raises(ValueError, match="not an http\\(s\\) URL"):
        Settings()
