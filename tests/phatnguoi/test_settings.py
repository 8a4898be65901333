"""The settings tree: environment, files, forbidden keys, secrets per environment."""

from __future__ import annotations

import json
import os
import secrets

import pytest

from phatnguoi.settings import Env, Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.upper().startswith("PHATNGUOI_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PHATNGUOI_VAR_DIR", str(tmp_path / "var"))


def strong() -> str:
    return secrets.token_urlsafe(48)


def test_defaults(tmp_path):
    s = load_settings()
    assert s.env == Env.DEV
    assert s.kafka.bootstrap is None
    assert s.kafka.topics.all() == {
        "frames.raw": 4,
        "violations.detected": 2,
        "notices.outbound": 1,
        "cameras.health": 1,
    }
    assert s.database_url == f"sqlite:///{tmp_path / 'var' / 'phatnguoi.db'}"
    assert s.demo.cameras == 2


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("PHATNGUOI_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    monkeypatch.setenv("PHATNGUOI_KAFKA__BOOTSTRAP", "kafka-1:9092,kafka-2:9092")
    monkeypatch.setenv("PHATNGUOI_KAFKA__TOPICS__FRAMES_RAW__PARTITIONS", "12")
    monkeypatch.setenv("PHATNGUOI_WEB__PORT", "9000")
    s = load_settings()
    assert s.database_url == "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    assert s.kafka.bootstrap == "kafka-1:9092,kafka-2:9092"
    assert s.kafka.topics.frames_raw.partitions == 12
    assert s.kafka.topics.frames_raw.name == "frames.raw"  # the rest of the section keeps its defaults
    assert s.web.port == 9000


@pytest.mark.parametrize("suffix", [".yaml", ".toml"])
def test_file_values_with_environment_on_top(tmp_path, monkeypatch, suffix):
    path = tmp_path / f"settings{suffix}"
    if suffix == ".yaml":
        path.write_text("ingest:\n  fps: 5\n  simulated_cameras: 3\nweb:\n  port: 8100\n")
    else:
        path.write_text("[ingest]\nfps = 5\nsimulated_cameras = 3\n[web]\nport = 8100\n")
    monkeypatch.setenv("PHATNGUOI_WEB__PORT", "8200")
    s = load_settings(path)
    assert (s.ingest.fps, s.ingest.simulated_cameras, s.web.port) == (5, 3, 8200)
    monkeypatch.setenv("PHATNGUOI_CONFIG", str(path))
    assert load_settings().ingest.simulated_cameras == 3


def test_unknown_keys_are_refused_in_files_and_environment(tmp_path, monkeypatch):
    path = tmp_path / "settings.yaml"
    path.write_text("kafka:\n  bootstrapp: localhost:9092\n")
    with pytest.raises(SettingsError, match=r"kafka\.bootstrapp: unknown setting"):
        load_settings(path)
    monkeypatch.setenv("PHATNGUOI_DETECTION__CONFIDENCE", "0.3")
    with pytest.raises(SettingsError, match=r"detection\.confidence: unknown setting"):
        load_settings()


def test_every_bad_field_is_named_in_one_message(monkeypatch):
    monkeypatch.setenv("PHATNGUOI_KAFKA__BOOTSTRAP", "localhost")
    monkeypatch.setenv("PHATNGUOI_DETECTION__IMGSZ", "650")
    monkeypatch.setenv("PHATNGUOI_ENV", "staging")
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert "kafka.bootstrap: expected HOST:PORT[,HOST:PORT...], got 'localhost'" in message
    assert "detection.imgsz: expected a multiple of 32, got 650" in message
    assert "env: Input should be 'dev', 'test' or 'prod'" in message


def test_missing_or_unreadable_file(tmp_path):
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[web\nport = ")
    with pytest.raises(SettingsError, match="cannot parse"):
        load_settings(bad)


@pytest.mark.parametrize("weak", [None, "changeme", "changeme-changeme-changeme-changeme-1", "a" * 40])
def test_prod_refuses_missing_or_default_secrets(monkeypatch, weak):
    monkeypatch.setenv("PHATNGUOI_ENV", "prod")
    monkeypatch.setenv("PHATNGUOI_SECURITY__EVIDENCE_SIGNING_KEY", strong())
    monkeypatch.setenv("PHATNGUOI_SECURITY__PII_KEY", strong())
    if weak is not None:
        monkeypatch.setenv("PHATNGUOI_SECURITY__SECRET_KEY", weak)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "PHATNGUOI_SECURITY__SECRET_KEY" in str(info.value)
    assert "PII_KEY" not in str(info.value)
    if weak:
        assert weak not in str(info.value)  # a secret is never echoed


def test_prod_accepts_strong_secrets(monkeypatch, tmp_path):
    monkeypatch.setenv("PHATNGUOI_ENV", "prod")
    for name in ("SECRET_KEY", "EVIDENCE_SIGNING_KEY", "PII_KEY"):
        monkeypatch.setenv(f"PHATNGUOI_SECURITY__{name}", strong())
    s = load_settings()
    assert s.env == Env.PROD
    assert not (tmp_path / "var" / "secrets.json").exists()


def test_dev_generates_secrets_once_and_keeps_them(tmp_path):
    first = load_settings()
    path = tmp_path / "var" / "secrets.json"
    stored = json.loads(path.read_text())
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert first.security.pii_key.get_secret_value() == stored["pii_key"]
    second = load_settings()
    assert second.security.secret_key == first.security.secret_key
    assert len({stored["secret_key"], stored["evidence_signing_key"], stored["pii_key"]}) == 3


def test_test_env_secrets_are_random_and_not_written(monkeypatch, tmp_path):
    monkeypatch.setenv("PHATNGUOI_ENV", "test")
    a, b = load_settings(), load_settings()
    assert a.security.secret_key != b.security.secret_key
    assert not (tmp_path / "var").exists()


def test_settings_object_can_be_built_directly():
    s = Settings(env="test", web={"port": 8123})
    assert s.web.port == 8123
