"""The one settings tree of the service: a section per package, ``extra="forbid"`` everywhere.

Values come from, highest priority first: keyword arguments, ``PHATNGUOI_*`` environment variables
(``__`` separates nested fields: ``PHATNGUOI_KAFKA__BOOTSTRAP=host:9092``,
``PHATNGUOI_DATABASE_URL=postgresql+psycopg://...``), an optional YAML or TOML file
(``load_settings(path)`` or ``PHATNGUOI_CONFIG``), and the defaults below.

Settings are built by the caller at start-up and passed in; nothing reads them at import time.
Secrets: in ``dev`` missing secrets are generated once and kept in ``<var_dir>/secrets.json``; in
``test`` they are random per process; in ``prod`` a missing or default-looking secret is an error.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tomllib
from contextvars import ContextVar
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

CONFIG_ENV_VAR = "PHATNGUOI_CONFIG"
SECRET_NAMES = ("secret_key", "evidence_signing_key", "pii_key")
MIN_SECRET_LENGTH = 32
_DEFAULT_LOOKING = re.compile(
    r"change.?me|replace.?me|insecure|not.?secret|^(secret|default|password|example|dev|test|todo|xxx)",
    re.IGNORECASE,
)
_CLASS_MAP = re.compile(r"^\s*$|^\s*\d+\s*:\s*[a-z_]+\s*(,\s*\d+\s*:\s*[a-z_]+\s*)*$")


class Env(StrEnum):
    DEV = "dev"
    TEST = "test"
    PROD = "prod"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TopicSettings(_Section):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    partitions: int = Field(default=1, ge=1, le=10_000)


class KafkaTopics(_Section):
    frames_raw: TopicSettings = TopicSettings(name="frames.raw", partitions=4)
    violations_detected: TopicSettings = TopicSettings(name="violations.detected", partitions=2)
    notices_outbound: TopicSettings = TopicSettings(name="notices.outbound", partitions=1)
    cameras_health: TopicSettings = TopicSettings(name="cameras.health", partitions=1)

    def all(self) -> dict[str, int]:
        """Topic name -> partitions, for :func:`phatnguoi.broker.ensure_topics`."""
        return {
            t.name: t.partitions
            for t in (self.frames_raw, self.violations_detected, self.notices_outbound, self.cameras_health)
        }


class KafkaGroups(_Section):
    detection: str = "detection"
    cases: str = "cases"
    notices: str = "notices"
    health: str = "health"


class KafkaSettings(_Section):
    bootstrap: str | None = None  # None: start the embedded Tansu broker
    topics: KafkaTopics = KafkaTopics()
    groups: KafkaGroups = KafkaGroups()
    client_id_prefix: str = Field(default="phatnguoi", min_length=1)
    dlq_suffix: str = Field(default=".dlq", min_length=1)
    session_timeout_ms: int = Field(default=10_000, ge=1000)
    heartbeat_interval_ms: int = Field(default=1_000, ge=100)

    @field_validator("bootstrap")
    @classmethod
    def _host_port_list(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        for part in value.split(","):
            host, sep, port = part.strip().rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"expected HOST:PORT[,HOST:PORT...], got {value!r}")
        return value

    def client_id(self, role: str) -> str:
        return f"{self.client_id_prefix}-{role}"


class EvidenceSettings(_Section):
    backend: Literal["file", "s3"] = "file"
    root: Path = Path("var/evidence")  # the folder for "file"; the key prefix for "s3"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None

    @model_validator(mode="after")
    def _s3_has_bucket(self) -> EvidenceSettings:
        if self.backend == "s3" and not self.s3_bucket:
            raise ValueError("evidence.backend is 's3' but evidence.s3_bucket is missing")
        return self


class SecuritySettings(_Section):
    """Empty means "not given": generated in dev/test, an error in prod (see :class:`Settings`)."""

    secret_key: SecretStr = SecretStr("")  # sessions, CSRF
    evidence_signing_key: SecretStr = SecretStr("")  # signatures on evidence packages and notice QR codes
    pii_key: SecretStr = SecretStr("")  # encryption of owners' personal data at rest


class IngestSettings(_Section):
    cameras_dir: Path = Path("ingest/cameras")
    simulated_cameras: int = Field(default=2, ge=0, le=1000)
    fps: float = Field(default=10.0, gt=0, le=120)
    jpeg_quality: int = Field(default=85, ge=10, le=100)
    heartbeat_s: float = Field(default=5.0, gt=0)


class DetectionSettings(_Section):
    weights: Path | None = None  # None: the shipped detector in the `backend` format
    backend: Literal["pytorch", "onnx", "openvino"] = "openvino"  # for the shipped detector
    class_map: str = ""  # "2:car,3:motorbike,...": "" = the model's own classes
    imgsz: int = Field(default=640, ge=32, le=4096)
    conf: float = Field(default=0.25, gt=0, lt=1)
    tracker: Literal["bytetrack", "botsort"] = "bytetrack"
    plate_reader_model: Path | None = None  # None: the shipped plate reader
    vote_min_confidence: float = Field(default=0.5, ge=0, le=1)

    @field_validator("imgsz")
    @classmethod
    def _multiple_of_32(cls, value: int) -> int:
        if value % 32:
            raise ValueError(f"expected a multiple of 32, got {value}")
        return value

    @field_validator("class_map")
    @classmethod
    def _class_map_format(cls, value: str) -> str:
        if not _CLASS_MAP.match(value):
            raise ValueError(f"expected 'ID:class,ID:class' (e.g. '2:car,3:motorbike'), got {value!r}")
        return value


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    public_url: str | None = None  # how citizens reach the site (notice QR codes); None: http://host:port


class CasesSettings(_Section):
    """The back office's legal timers and its own secrets (issue 6). The law's figures are
    defaults with their source in shared/DOMAIN.md; a city changes them here, not in code."""

    case_prefix: str = Field(default="HCM", min_length=1, max_length=20)
    notify_days: int = Field(default=10, ge=1, le=60)  # detection -> notified and published
    warning_days: int = Field(default=20, ge=1, le=120)  # notice -> warning to inspection/registration
    payment_days: int = Field(default=10, ge=1, le=60)  # decision -> payment
    late_interest_per_day: float = Field(default=0.0005, ge=0, le=0.01)  # 0.05 % of the fine per day
    expiry_days: int = Field(default=365, ge=30, le=3650)  # limitation from the recording
    verify_days: int = Field(default=30, ge=1, le=120)  # a citizen submission is verified within
    verify_days_complex: int = Field(default=60, ge=1, le=180)
    merge_window_s: int = Field(default=300, ge=0, le=86_400)  # near-duplicate detections merge
    deadlines_every_s: float = Field(default=300.0, gt=0)  # the cases worker runs the deadline job
    # Old PII keys, newest first, comma separated: they still decrypt, security.pii_key encrypts.
    pii_old_keys: SecretStr = SecretStr("")
    # HMAC key of the payment adapter's callbacks; "" derives one from security.secret_key
    payment_callback_secret: SecretStr = SecretStr("")


class DemoSettings(_Section):
    cameras: int = Field(default=2, ge=1, le=64)


class NoticesSettings(_Section):
    """Notice delivery channels and the public lookup's abuse protection (issue 7; see
    docs/notices.md). A channel is used only when listed and configured (``notices.channels.
    channels_from``); the postal batch needs nothing outside."""

    channels: tuple[Literal["vneid", "email", "sms", "postal"], ...] = ("postal",)
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_sender: str = "thongbao@csgt.example.vn"
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    sms_gateway_url: str = ""
    vneid_gateway_url: str = ""
    gateway_token: SecretStr = SecretStr("")
    max_attempts: int = Field(default=3, ge=1, le=20)  # per channel, before falling back
    backoff_base_s: float = Field(default=30.0, gt=0)
    lookup_pow_bits: int = Field(default=16, ge=0, le=32)
    lookups_per_minute: float = Field(default=10.0, gt=0)
    lookup_burst: float = Field(default=10.0, ge=1)


_FILE_VALUES: ContextVar[dict[str, Any] | None] = ContextVar("phatnguoi_settings_file", default=None)


class _FileSource(PydanticBaseSettingsSource):
    """Values from the YAML/TOML file :func:`load_settings` read (lower priority than the env)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        values = _FILE_VALUES.get() or {}
        return values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_FILE_VALUES.get() or {})


class Settings(BaseSettings):
    """Everything the service can be told. Build with :func:`load_settings` at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="PHATNGUOI_",
        env_nested_delimiter="__",
        extra="forbid",
        case_sensitive=False,
        nested_model_default_partial_update=True,
    )

    env: Env = Env.DEV
    var_dir: Path = Path("var")  # local state: sqlite file, evidence, dev secrets
    database_url: str = ""  # "": sqlite file <var_dir>/phatnguoi.db
    kafka: KafkaSettings = KafkaSettings()
    evidence: EvidenceSettings = EvidenceSettings()
    security: SecuritySettings = SecuritySettings()
    ingest: IngestSettings = IngestSettings()
    detection: DetectionSettings = DetectionSettings()
    web: WebSettings = WebSettings()
    demo: DemoSettings = DemoSettings()
    cases: CasesSettings = CasesSettings()
    notices: NoticesSettings = NoticesSettings()
    # port of a non-web worker's /healthz, /readyz, /metrics server (phatnguoi.health); None: off
    health_port: int | None = Field(default=None, ge=0, le=65535)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _FileSource(settings_cls))

    @field_validator("database_url")
    @classmethod
    def _url_has_scheme(cls, value: str) -> str:
        if value and "://" not in value:
            raise ValueError(
                f"expected a SQLAlchemy URL like 'postgresql+psycopg://user@host/db', got {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _fill_defaults_and_check_secrets(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / 'phatnguoi.db'}"
        given = {name: getattr(self.security, name) for name in SECRET_NAMES}
        if self.env == Env.PROD:
            bad = [name for name, value in given.items() if not _strong(value)]
            if bad:
                names = ", ".join(f"PHATNGUOI_SECURITY__{name.upper()}" for name in bad)
                raise ValueError(
                    f"env is 'prod' but these secrets are missing or look like defaults: {names}; "
                    f"expected random values of at least {MIN_SECRET_LENGTH} characters "
                    "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')"
                )
        elif any(not value.get_secret_value() for value in given.values()):
            generated = _dev_secrets(self.var_dir) if self.env == Env.DEV else _random_secrets()
            filled = {
                name: value if value.get_secret_value() else SecretStr(generated[name])
                for name, value in given.items()
            }
            self.security = SecuritySettings(**filled)
        return self

    def topics_with_partitions(self) -> dict[str, int]:
        return self.kafka.topics.all()


def _strong(value: SecretStr) -> bool:
    raw = value.get_secret_value()
    return len(raw) >= MIN_SECRET_LENGTH and not _DEFAULT_LOOKING.search(raw) and len(set(raw)) >= 10


def _random_secrets() -> dict[str, str]:
    return {name: secrets.token_urlsafe(48) for name in SECRET_NAMES}


def _dev_secrets(var_dir: Path) -> dict[str, str]:
    """Secrets generated on first run and kept in ``var_dir/secrets.json`` (mode 0600)."""
    path = var_dir / "secrets.json"
    if path.exists():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SettingsError(f"{path}: cannot read the stored development secrets: {exc}") from exc
        if isinstance(stored, dict) and all(isinstance(stored.get(n), str) for n in SECRET_NAMES):
            return {n: stored[n] for n in SECRET_NAMES}
        raise SettingsError(
            f"{path}: expected a JSON object with {', '.join(SECRET_NAMES)}; delete it to regenerate"
        )
    values = _random_secrets()
    var_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(values, out, indent=2)
    os.replace(tmp, path)
    return values


class SettingsError(ValueError):
    """Settings that cannot be used; the message names every bad field."""


def read_config_file(path: Path) -> dict[str, Any]:
    """A YAML (``.yaml``/``.yml``) or TOML (``.toml``) settings file as a mapping."""
    path = Path(path)
    if not path.is_file():
        raise SettingsError(f"settings file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".toml":
            data: Any = tomllib.loads(text)
        elif path.suffix.lower() in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        else:
            raise SettingsError(f"settings file {path}: expected a .yaml, .yml or .toml file")
    except (OSError, UnicodeDecodeError, yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"settings file {path}: cannot parse: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(f"settings file {path}: expected a mapping at the top, got {type(data).__name__}")
    return data


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Build and validate the settings; ``path`` (else ``$PHATNGUOI_CONFIG``) names an optional file.

    Raises :class:`SettingsError` with one line per bad field (``kafka.bootstrap: expected ...``).
    """
    if path is None and os.environ.get(CONFIG_ENV_VAR):
        path = Path(os.environ[CONFIG_ENV_VAR])
    file_values = read_config_file(path) if path is not None else {}
    token = _FILE_VALUES.set(file_values)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(format_validation_error(exc, source=path)) from None
    finally:
        _FILE_VALUES.reset(token)


def format_validation_error(exc: ValidationError, *, source: Path | None = None) -> str:
    where = f" (file {source} and PHATNGUOI_* environment)" if source else " (PHATNGUOI_* environment)"
    lines = [f"invalid settings{where}:"]
    for error in exc.errors():
        loc = ".".join(str(part) for part in error["loc"]) or "settings"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown setting (not allowed)"
        got = error.get("input")
        shown = (
            ""
            if error["type"] in ("extra_forbidden", "missing") or isinstance(got, dict)
            else f", got {got!r}"
        )
        if loc.startswith("security.") or "secret" in loc:
            shown = ""
        lines.append(f"  {loc}: {message}{shown}")
    return "\n".join(lines)
