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
