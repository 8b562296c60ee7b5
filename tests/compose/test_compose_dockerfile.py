"""The app's Dockerfile: a pinned slim Python, a non-root user, the project installed with
pip, and no secret or local state copied in."""

from __future__ import annotations

import re

from tests.compose.stack import ROOT, app_services

DOCKERFILE = ROOT / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _stages() -> dict[str, list[tuple[str, str]]]:
    stages: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for word, rest in _instructions():
        if word == "FROM":
            parts = rest.split()
            current = [(word, rest)]
            stages[parts[-1] if "AS" in (p.upper() for p in parts) else parts[0]] = current
        else:
            current.append((word, rest))
    return stages


def test_the_base_is_a_pinned_python_3_11_slim() -> None:
    froms = [rest for word, rest in _instructions() if word == "FROM"]
    base = froms[0].split()[0]
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", base), base
    for image in froms[1:]:
        assert image.split()[0] in _stages(), f"FROM {image}: not a stage of this file"


def test_every_stage_compose_builds_exists_installs_the_project_and_runs_as_non_root() -> None:
    stages = _stages()
    for name, service in app_services().items():
        target = service["build"]["target"]
        assert target in stages, f"{name} builds stage {target}, which the Dockerfile lacks"
        lines = stages["base"] + stages[target]
        users = [rest for word, rest in lines if word == "USER"]
        assert users and users[-1] not in ("root", "0"), f"stage {target} runs as root"
        installs = re.compile(r"pip install (-e )?['\"]?\.(\[\w+\])?['\"]?(\s|$)")
        assert any(w == "RUN" and installs.search(r) for w, r in lines), f"{target}: no pip install"


def test_nothing_secret_or_local_is_copied_into_the_image() -> None:
    for word, rest in _instructions():
        if word in ("COPY", "ADD"):
            sources = [s for s in rest.split()[:-1] if not s.startswith("--")]
            for source in sources:
                assert source not in (".", "./", "*"), f"{word} {rest}: copies the whole context"
                assert not re.search(r"\.env|var/?$|credentials|\.pem|\.key", source), rest
        if word in ("ENV", "ARG"):
            assert not re.search(r"PASSWORD|TOKEN|SECRET|API_KEY", rest), f"{word} {rest}"
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for must in (".env", "var/", "*.credentials.json", ".git/"):
        assert must in ignored, f".dockerignore must keep {must} out of the build context"
