"""The deployment files validate without a container engine or a cluster.

(a) ``docker-compose config -q`` (Debian's docker-compose 1.29, no engine needed) accepts
deploy/compose.yaml (and the GPU override) with the example env file, and refuses it without secrets;
(b) every Kubernetes manifest validates strictly against the Kubernetes API schemas bundled in
``kubernetes-validate`` (pinned version below), the GPU overlay too once its patch is applied;
the KEDA ScaledObject (a CRD) against a small schema of the fields it uses;
(c) the Dockerfile, compose, kustomizations and Prometheus/Grafana files reference only files that exist;
(d) nothing secret-looking is committed in deploy/.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
KUBERNETES_VERSION = "1.37.0"  # the newest schemas kubernetes-validate 1.37.0 bundles
APT_LINE = "apt-get update && apt-get install -y --no-install-recommends docker-compose"
FRAMES_RAW_PARTITIONS = 12


def _yaml_docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


# --- (a) compose ----------------------------------------------------------------------------------


def _compose(*args: str, env_file: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail(f"docker-compose is not installed: the Makefile must run `{APT_LINE}` (Debian package)")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DOCKER_HOST": "tcp://127.0.0.1:9",  # nothing listens there: proves no engine is contacted
    }
    return subprocess.run(
        [binary, "--env-file", str(env_file), *args, "config", "-q"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )


def test_compose_file_validates(tmp_path: Path) -> None:
    gpu = ["-f", "deploy/compose.yaml", "-f", "deploy/compose.gpu.yaml"]
    for files in (["-f", "deploy/compose.yaml"], gpu):
        result = _compose(*files, env_file=DEPLOY / ".env.example", tmp_path=tmp_path)
        assert result.returncode == 0, f"docker-compose config {files}: {result.stderr}"


def test_compose_refuses_to_run_without_secrets(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = _compose("-f", "deploy/compose.yaml", env_file=empty, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "in deploy/.env" in result.stderr  # the ${VAR:?set VAR in deploy/.env} message


def test_compose_catches_a_bad_key(tmp_path: Path) -> None:
    bad = tmp_path / "compose.yaml"
    bad.write_text((DEPLOY / "compose.yaml").read_text().replace("stop_grace_period:", "stop_grace_periodd:"))
    result = _compose("-f", str(bad), env_file=DEPLOY / ".env.example", tmp_path=tmp_path)
    assert result.returncode != 0 and "stop_grace_periodd" in result.stderr


def _compose_doc() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_has_the_services_and_topics() -> None:
    services = _compose_doc()["services"]
    for name in ("kafka", "kafka-topics", "postgres", "minio", "minio-setup", "migrate", "detection", "cases",
                 "notices", "web", "prometheus", "grafana"):
        assert name in services, f"compose.yaml: expected service {name!r}"
    assert any(n.startswith("ingest-") for n in services)
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["postgres"]["image"].startswith("postgres:16")
    topics = dict(s.split(":") for s in services["kafka-topics"]["environment"]["TOPICS"].split())
    assert topics == {"frames.raw": str(FRAMES_RAW_PARTITIONS), "violations.detected": "6",
                      "notices.outbound": "3", "cameras.health": "3"}
    for name, service in services.items():
        if service.get("restart") != "no":
            assert "healthcheck" in service or name == "kafka-exporter", f"{name}: expected a healthcheck"


# --- (b) Kubernetes ----------------------------------------------------------------------------------


def _kustomization(folder: Path) -> dict[str, Any]:
    return yaml.safe_load((folder / "kustomization.yaml").read_text())


def _base_objects() -> list[tuple[Path, dict[str, Any]]]:
    out = []
    for resource in _kustomization(K8S)["resources"]:
        path = K8S / resource
        assert path.is_file(), f"kustomization.yaml lists {resource}, which does not exist"
        out.extend((path, doc) for doc in _yaml_docs(path))
    return out


def _validate(doc: dict[str, Any], where: str) -> None:
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"{where}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}: {exc}")


def test_every_manifest_validates_against_the_api_schemas() -> None:
    objects = _base_objects()
    for path, doc in objects:
        _validate(doc, str(path.relative_to(ROOT)))
    for doc in _yaml_docs(K8S / "secret.template.yaml"):
        _validate(doc, "secret.template.yaml")
    kinds = Counter(doc["kind"] for _, doc in objects)
    assert kinds["Deployment"] >= 5 and kinds["Job"] == 2 and kinds["HorizontalPodAutoscaler"] == 1
    assert kinds["PodDisruptionBudget"] >= 3 and kinds["Ingress"] == 1 and kinds["Namespace"] == 1


def test_the_validator_rejects_a_broken_manifest() -> None:
    deployment = next(d for _, d in _base_objects() if d["kind"] == "Deployment")
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["resourcez"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="resourcez"):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_every_manifest_file_is_used_or_documented_as_not() -> None:
    listed = {(K8S / r).resolve() for r in _kustomization(K8S)["resources"]}
    outside = {K8S / "kustomization.yaml", K8S / "secret.template.yaml"}
    for path in K8S.rglob("*.yaml"):
        if path in outside or path.parent in (K8S / "keda",) or (K8S / "overlays") in path.parents:
            continue
        assert path.resolve() in listed, f"{path.relative_to(ROOT)} is not in deploy/k8s/kustomization.yaml"


def _deployments() -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for _, d in _base_objects() if d["kind"] == "Deployment"}


def test_workers_have_probes_resources_and_graceful_stop() -> None:
    deployments = _deployments()
    assert {"detection", "cases", "notices", "web"} <= set(deployments)
    for name, d in deployments.items():
        spec = d["spec"]["template"]["spec"]
        container = spec["containers"][0]
        assert container["args"][0] == "worker", name
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
        assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name
        assert spec["terminationGracePeriodSeconds"] >= 30, name


def _strategic_merge(base: Any, patch: Any) -> Any:
    """Enough of kustomize's strategic merge for our patch: maps merge, lists of named maps merge by name."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            out[key] = _strategic_merge(base[key], value) if key in base else value
        return out
    named = isinstance(patch, list) and all(isinstance(p, dict) and "name" in p for p in patch)
    if isinstance(base, list) and named:
        by_name = {item.get("name"): i for i, item in enumerate(base)}
        out = list(base)
        for item in patch:
            if item["name"] in by_name:
                out[by_name[item["name"]]] = _strategic_merge(out[by_name[item["name"]]], item)
            else:
                out.append(item)
        return out
    return patch


def test_gpu_overlay_gives_detection_a_gpu() -> None:
    overlay = K8S / "overlays" / "gpu"
    kustomization = _kustomization(overlay)
    assert [(overlay / r).resolve() for r in kustomization["resources"]] == [K8S.resolve()]
    (patch_ref,) = kustomization["patches"]
    (patch,) = _yaml_docs(overlay / patch_ref["path"])
    target = _deployments()[patch_ref["target"]["name"]]
    patched = _strategic_merge(target, patch)
    _validate(patched, "overlays/gpu (patched detection)")
    (container,) = patched["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert container["args"] == ["worker", "detection"]  # the patch kept the base container


# A schema of the ScaledObject fields used here (keda.sh/v1alpha1), written for this test: the CRD
# itself is not vendored.
SCALED_OBJECT_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "ScaledObject"},
        "metadata": {"type": "object", "required": ["name", "namespace"]},
        "spec": {
            "type": "object",
            "required": ["scaleTargetRef", "triggers"],
            "additionalProperties": False,
            "properties": {
                "scaleTargetRef": {"type": "object", "required": ["name"], "additionalProperties": False,
                                   "properties": {"name": {"type": "string"}, "kind": {"type": "string"},
                                                  "apiVersion": {"type": "string"}}},
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "pollingInterval": {"type": "integer", "minimum": 1},
                "idleReplicaCount": {"type": "integer"},
                "advanced": {"type": "object"},
                "fallback": {"type": "object"},
                "triggers": {
                    "type": "array", "minItems": 1,
                    "items": {"type": "object", "required": ["type", "metadata"],
                              "properties": {"type": {"type": "string"}, "name": {"type": "string"},
                                             "metadata": {"type": "object",
                                                          "additionalProperties": {"type": "string"}},
                                             "authenticationRef": {"type": "object"}}},
                },
            },
        },
    },
}


def test_autoscaling_agrees_with_the_partitions() -> None:
    (scaled,) = _yaml_docs(K8S / "keda" / "scaledobject-detection.yaml")
    jsonschema.validate(scaled, SCALED_OBJECT_SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**scaled, "spec": {**scaled["spec"], "maxReplicas": 3}}, SCALED_OBJECT_SCHEMA)
    (hpa,) = _yaml_docs(K8S / "hpa-detection.yaml")
    trigger = scaled["spec"]["triggers"][0]["metadata"]
    assert trigger["consumerGroup"] == "detection" and trigger["topic"] == "frames.raw"
    assert hpa["spec"]["maxReplicas"] == scaled["spec"]["maxReplicaCount"] == FRAMES_RAW_PARTITIONS
    (topics_job,) = _yaml_docs(K8S / "jobs" / "topics.yaml")
    env = {e["name"]: e.get("value") for e in topics_job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert f"frames.raw:{FRAMES_RAW_PARTITIONS}" in env["TOPICS"].split()
    assert env["REPLICATION"] == "3"
    config = _yaml_docs(K8S / "configmap.yaml")[0]["data"]
    assert config["PHATNGUOI_KAFKA__TOPICS__FRAMES_RAW__PARTITIONS"] == str(FRAMES_RAW_PARTITIONS)


# --- (c) references ------------------------------------------------------------------------------


def test_dockerfile_copies_only_existing_files() -> None:
    lines = (DEPLOY / "Dockerfile").read_text().splitlines()
    copies = [line.split()[1:-1] for line in lines if line.startswith("COPY ") and "--from" not in line]
    assert copies, "expected COPY lines in deploy/Dockerfile"
    for sources in copies:
        for source in sources:
            assert (ROOT / source).exists(), f"deploy/Dockerfile copies {source}, which does not exist"
    assert any(line.startswith('ENTRYPOINT ["phatnguoi"]') for line in lines)


def test_compose_references_existing_files() -> None:
    doc = _compose_doc()
    for name, service in doc["services"].items():
        build = service.get("build")
        if build:
            context = DEPLOY / build["context"]
            assert (context / build["dockerfile"]).is_file(), f"{name}: build dockerfile missing"
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith((".", "/")):
                assert (DEPLOY / source).exists(), f"{name}: mounts {source}, which does not exist"
            else:
                assert source in doc["volumes"], f"{name}: named volume {source} is not declared"
    prometheus = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    mounted = {v.split(":")[1] for v in doc["services"]["prometheus"]["volumes"] if v.startswith(".")}
    assert set(prometheus["rule_files"]) <= mounted
    assert yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"][0]["rules"]


def test_grafana_dashboard_covers_the_pipeline() -> None:
    dashboards = list((DEPLOY / "grafana" / "dashboards").glob("*.json"))
    assert dashboards
    dashboard = json.loads(dashboards[0].read_text())
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    for needle in ("frames.raw", "kafka_consumergroup_lag", "violations.detected", "dlq",
                   "phatnguoi_stage_record_age_seconds_bucket"):
        assert needle in exprs, f"dashboard: no panel queries {needle}"
    provisioning = DEPLOY / "grafana" / "provisioning" / "dashboards" / "phatnguoi.yaml"
    provider = yaml.safe_load(provisioning.read_text())
    grafana_mounts = dict(v.split(":")[:2] for v in _compose_doc()["services"]["grafana"]["volumes"]
                          if v.startswith("."))
    assert grafana_mounts["./grafana/dashboards"] == provider["providers"][0]["options"]["path"]


# --- (d) secrets -----------------------------------------------------------------------------------

_SECRET_NAME = re.compile(r"(PASSWORD|SECRET|_KEY$|TOKEN)", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"CHANGE_ME|\$\{[A-Z0-9_]+(:[?-][^}]*)?\}|^\.\.\.$|^phatnguoi-evidence$|^$")
_PRIVATE = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----|AKIA[0-9A-Z]{16}|ghp_[A-Za-z0-9]{30,}|xox[bp]-")
_TOKEN = re.compile(r"[A-Za-z0-9+/_=-]{24,}")


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _looks_secret(token: str) -> bool:
    """Random-looking: upper, lower and digits mixed, high entropy (paths and names are not)."""
    mixed = all(re.search(c, token) for c in ("[a-z]", "[A-Z]", "[0-9]"))
    return mixed and _entropy(token) > 4.0


def test_the_secret_detector_detects() -> None:
    import secrets

    assert all(_looks_secret(secrets.token_urlsafe(32)) for _ in range(20))
    assert not _looks_secret("PHATNGUOI_VAR_DIR=/var/lib/phatnguoi")
    assert not _looks_secret("phatnguoi-kafka-bootstrap.kafka.svc")


def _committed_deploy_files() -> list[Path]:
    ignored = {line.strip() for line in (DEPLOY / ".gitignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    return [p for p in DEPLOY.rglob("*") if p.is_file() and p.name not in ignored]


def test_env_example_has_only_placeholders_and_env_is_ignored() -> None:
    assert ".env" in (DEPLOY / ".gitignore").read_text().split()
    values = dict(line.split("=", 1) for line in (DEPLOY / ".env.example").read_text().splitlines()
                  if line.strip() and not line.startswith("#"))
    secret_names = [k for k in values if _SECRET_NAME.search(k)]
    assert len(secret_names) >= 6
    for name in secret_names:
        assert values[name] == "CHANGE_ME", f"deploy/.env.example: {name} must be the placeholder CHANGE_ME"


def test_no_secret_looking_values_in_deploy() -> None:
    files = _committed_deploy_files()
    assert len(files) > 15
    for path in files:
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(ROOT)
        assert not _PRIVATE.search(text), f"{where}: looks like a private key or access token"
        for token in _TOKEN.findall(text):
            assert not _looks_secret(token), f"{where}: random-looking string {token[:6]}... may be a secret"
        if path.suffix in (".yaml", ".yml") and "grafana" not in path.parts:
            for doc in _yaml_docs(path):
                _check_secret_keys(doc, f"{where}")


def _check_secret_keys(node: Any, where: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            names_a_secret = isinstance(key, str) and key.endswith(("Name", "Ref"))  # secretName: web-tls
            secret_key = isinstance(key, str) and bool(_SECRET_NAME.search(key)) and not names_a_secret
            if isinstance(value, str) and secret_key:
                literal = re.sub(r"\$\{[^}]*\}", "", value)  # interpolations are fine
                if "://" in value:  # a URL may carry a password only as a placeholder
                    assert re.search(r"://[^:/@]+:(CHANGE_ME|\$\{)", value) or "@" not in value, \
                        f"{where}: {key} has a literal password in a URL"
                else:
                    assert _PLACEHOLDER.search(value) or literal in ("", "..."), \
                        f"{where}: {key} = {value!r} is not a placeholder or ${{VAR}}"
            _check_secret_keys(value, where)
        if node.get("name") and isinstance(node.get("value"), str) and _SECRET_NAME.search(str(node["name"])):
            assert _PLACEHOLDER.search(node["value"]), f"{where}: env {node['name']} has a literal value"
    elif isinstance(node, list):
        for item in node:
            _check_secret_keys(item, where)


# --- the environment the files give the workers is a valid settings tree -------------------------


def _settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch):  # noqa: ANN202
    import secrets

    from phatnguoi.settings import load_settings

    for name in list(os.environ):
        if name.startswith("PHATNGUOI_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith("PHATNGUOI_"):
            # placeholders become strong random values: prod refuses CHANGE_ME (tested elsewhere)
            monkeypatch.setenv(name, value.replace("CHANGE_ME", secrets.token_urlsafe(40)))
    return load_settings()


def test_compose_environment_is_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    env_example = dict(line.split("=", 1) for line in (DEPLOY / ".env.example").read_text().splitlines()
                       if line.strip() and not line.startswith("#"))
    environment = _compose_doc()["services"]["detection"]["environment"]

    def interpolate(value: str) -> str:
        return re.sub(r"\$\{([A-Z0-9_]+)(?::[?-]([^}]*))?\}",
                      lambda m: env_example.get(m.group(1), m.group(2) or ""), str(value))

    settings = _settings_from({k: interpolate(v) for k, v in environment.items()}, monkeypatch)
    assert settings.env == "prod" and settings.kafka.bootstrap == "kafka:9092"
    assert settings.kafka.topics.frames_raw.partitions == FRAMES_RAW_PARTITIONS
    assert settings.evidence.backend == "s3" and settings.health_port == 9100
    assert settings.database_url.startswith("postgresql+psycopg://")


def test_k8s_environment_is_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    env = dict(_yaml_docs(K8S / "configmap.yaml")[0]["data"])
    env.update(_yaml_docs(K8S / "secret.template.yaml")[0]["stringData"])
    settings = _settings_from(env, monkeypatch)
    assert settings.kafka.topics.frames_raw.partitions == FRAMES_RAW_PARTITIONS
    assert settings.evidence.s3_bucket and settings.health_port == 9100
