"""Metrics, dashboard and traces of compose.yaml: Prometheus scrapes every role process,
Grafana provisions the shipped dashboard from Prometheus, spans reach Jaeger through the
collector."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from supervisors.telemetry.exposition import parse_addr
from tests.compose.stack import ROOT, environment, role_services, services


def _yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), path
    return data


def _mounts(service: str) -> dict[str, str]:
    """container path -> host path, of the service's bind mounts."""
    out = {}
    for volume in services()[service].get("volumes", []):
        source, target = str(volume).split(":")[:2]
        if source.startswith("./"):
            out[target] = source
    return out


def _prometheus_targets() -> set[str]:
    mounts = _mounts("prometheus")
    config = _yaml(ROOT / mounts["/etc/prometheus/prometheus.yml"])
    return {
        target
        for job in config["scrape_configs"]
        if job.get("metrics_path", "/metrics") in ("/metrics", "/public_metrics")
        for static in job["static_configs"]
        for target in static["targets"]
    }


def test_prometheus_scrapes_every_role_services_metrics_port() -> None:
    targets = _prometheus_targets()
    for name, service in role_services().items():
        _, port = parse_addr(environment(service)["ALPHA_PANDA_METRICS_ADDR"])
        assert f"{name}:{port}" in targets, f"Prometheus does not scrape {name}:{port}"
    for target in targets:
        assert target.split(":")[0] in services(), f"Prometheus scrapes unknown {target}"


def test_grafana_provisions_the_shipped_dashboard_from_prometheus() -> None:
    mounts = _mounts("grafana")
    provisioning = ROOT / mounts["/etc/grafana/provisioning"]
    providers = _yaml(provisioning / "dashboards" / "alpha-panda.yaml")["providers"]
    folder = providers[0]["options"]["path"]
    dashboards = {t: s for t, s in mounts.items() if t.startswith(folder + "/")}
    assert dashboards == {f"{folder}/alpha-panda.json": "./ops/grafana/alpha-panda.json"}
    dashboard = json.loads((ROOT / "ops/grafana/alpha-panda.json").read_text())
    assert dashboard["uid"] == "alpha-panda"
    sources = _yaml(provisioning / "datasources" / "prometheus.yaml")["datasources"]
    (prometheus,) = [s for s in sources if s["type"] == "prometheus"]
    assert prometheus["isDefault"] is True  # the dashboard's ${datasource} picks it
    url = urlsplit(prometheus["url"])
    assert url.hostname == "prometheus" and url.port == 9090
    assert any("9090" in p for p in services()["prometheus"]["ports"])


def test_spans_go_from_every_role_to_the_collector_and_on_to_jaeger() -> None:
    config = _yaml(ROOT / _mounts("otel-collector")["/etc/otel/config.yaml"])
    http = config["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    for name, service in role_services().items():
        endpoint = urlsplit(environment(service)["OTEL_EXPORTER_OTLP_ENDPOINT"])
        assert endpoint.hostname == "otel-collector", name
        assert str(endpoint.port) == http.rsplit(":", 1)[1], name  # OTLP/HTTP, as the app sends
        assert environment(service)["OTEL_SERVICE_NAME"] == f"alpha-panda-{name}"
    pipeline = config["service"]["pipelines"]["traces"]
    (exporter,) = pipeline["exporters"]
    assert config["exporters"][exporter]["endpoint"].split(":")[0] == "jaeger"
    assert "health_check" in config["service"]["extensions"]  # what /healthcheck asks
    assert services()["jaeger"]["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"
