"""compose.yaml itself: it parses, names the whole stack, pins its images, checks health
and starts in order, and takes its secrets from the env file only."""

from __future__ import annotations

import re
from graphlib import CycleError, TopologicalSorter

from tests.compose.stack import (
    ROOT,
    compose,
    env_example,
    environment,
    one_shot,
    services,
    variables,
)

#: the stack of DESIGN.md and issue 18, by service name
STACK = (
    "nats-1", "nats-2", "nats-3", "redpanda", "redpanda-console", "redis", "postgres",
    "prometheus", "grafana", "otel-collector", "jaeger", "tests",
    "bus-auth", "bootstrap", "control", "broker-paper", "strategies-1",
    "feed", "bridge", "web",
)  # fmt: skip

_SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|API_KEY")


def test_compose_yaml_parses_and_names_the_whole_stack() -> None:
    assert compose()["name"] == "alpha-panda"
    missing = [name for name in STACK if name not in services()]
    assert not missing, f"compose.yaml lacks {missing}"


def test_every_image_is_pinned_to_a_version() -> None:
    for name, service in services().items():
        image = service.get("image")
        assert image, f"{name} has no image (a built service names its tag too)"
        _, sep, tag = str(image).rpartition(":")
        assert sep and "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest" and re.search(r"\d", tag), f"{name}: {image} is not a version"


def test_every_server_and_app_service_has_a_health_check() -> None:
    for name, service in services().items():
        if one_shot(service):
            continue
        check = service.get("healthcheck")
        assert check and check.get("test"), f"{name} runs without a health check"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), f"{name}: {check['test']}"


def test_depends_on_waits_for_health_or_completion_and_has_no_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for name, service in services().items():
        deps = service.get("depends_on") or {}
        assert isinstance(deps, dict), f"{name}: depends_on as a list waits for nothing"
        for dep, spec in deps.items():
            assert dep in services(), f"{name} depends on unknown service {dep}"
            condition = spec.get("condition")
            target = services()[dep]
            if one_shot(target):
                assert condition == "service_completed_successfully", f"{name} -> {dep}"
            else:
                assert condition == "service_healthy", f"{name} -> {dep}: {condition}"
                assert "healthcheck" in target, f"{name} waits for {dep}'s health, it has none"
        graph[name] = set(deps)
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise AssertionError(f"depends_on has a cycle: {exc.args[1]}") from None
    # the bus and the streams come before any role process
    for role in ("control", "broker-paper", "feed", "web", "bridge"):
        assert order.index("bootstrap") < order.index(role)
        assert order.index("bus-auth") < order.index("nats-1") < order.index("bootstrap")
    assert order.index("strategies-1") < order.index("feed")  # consumers bound first


def test_every_interpolated_variable_is_in_env_example() -> None:
    text = (ROOT / "compose.yaml").read_text()
    example = env_example()
    missing = sorted(variables(text) - set(example))
    assert not missing, f".env.example lacks {missing}"
    for name, value in example.items():
        if _SECRET_NAME.search(name) and name != "ALPHA_PANDA_BROKERS":
            assert value == "", f".env.example gives {name} a value: secrets stay blank there"


def test_secrets_come_from_the_env_file_never_from_compose_yaml() -> None:
    for name, service in services().items():
        for key, value in environment(service).items():
            if _SECRET_NAME.search(key) and key != "REDISCLI_AUTH":
                assert value.startswith("${") and value.endswith("}"), (
                    f"{name}: {key} is written in compose.yaml; interpolate it from .env"
                )
            for url_key in ("REDIS_URL", "DATABASE_URL", "TEST_DATABASE_URL"):
                if key == url_key:
                    assert "${" in value, f"{name}: {key} holds a literal password"
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in ignored, ".env must be git-ignored"
    assert not (ROOT / ".env").exists() or ".env" in ignored


def test_published_ports_listen_on_loopback_only() -> None:
    for name, service in services().items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


def test_the_bind_mounted_files_exist_in_the_repository() -> None:
    for name, service in services().items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which is missing"
