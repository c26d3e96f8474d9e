"""The docs and the deployment files say what the code does."""

from __future__ import annotations

import os
import runpy
from pathlib import Path

import yaml

from archive.config import known_env_names
from tests.conftest import ROOT


def test_readme_cli_reference_matches_the_help() -> None:
    mod = runpy.run_path(str(ROOT / "scripts" / "cli_reference.py"))
    readme = (ROOT / "README.md").read_text()
    assert mod["splice"](readme, mod["render"]()) == readme, "run scripts/cli_reference.py --write"


def test_readme_documents_every_setting_and_the_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in known_env_names():
        assert f"`{name}`" in readme, name
    assert "scripts/test" in readme and "ARCHIVE_TEST_MONGO_URI" in readme and "docker compose up -d mongo" in readme
    assert "replicaSet=rs0" in readme


def test_compose_file() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"mongo", "archive", "web"}
    web = services["web"]
    assert web["command"][0] == "serve" and web["environment"]["ARCHIVE_DB"] == "mongodb://mongo:27017/archive?replicaSet=rs0"
    assert all(p.startswith("127.0.0.1:") for p in web["ports"])  # no login: never published beyond the machine
    assert web["depends_on"]["mongo"]["condition"] == "service_healthy"
    mongo, app = services["mongo"], services["archive"]
    image, tag = mongo["image"].split(":")
    assert image == "mongo" and tag.split(".")[0].isdigit()  # a pinned major version
    assert "mongosh" in " ".join(mongo["healthcheck"]["test"])
    assert any(v.startswith("mongo-data:") for v in mongo["volumes"]) and "mongo-data" in compose["volumes"]
    assert app["build"] == "." and app["command"] == ["watch", "/seeds"]
    assert app["environment"]["ARCHIVE_DB"] == "mongodb://mongo:27017/archive?replicaSet=rs0"
    assert "--replSet" in mongo["command"] and "rs.initiate" in " ".join(mongo["healthcheck"]["test"])
    assert app["environment"]["ARCHIVE_POLLING"] in ("1", "true")
    assert app["depends_on"]["mongo"]["condition"] == "service_healthy"
    assert app["restart"] in ("unless-stopped", "always", "on-failure")
    assert any(v.split(":")[:2] == ["./seeds", "/seeds"] for v in app["volumes"])
    assert set(app["environment"]) <= set(known_env_names())


def test_dockerfile() -> None:
    lines = [ln.strip() for ln in (ROOT / "Dockerfile").read_text().splitlines() if ln.strip() and ln[0] != "#"]
    assert lines[0].startswith("FROM python:") and lines[0].endswith("-slim")
    users = [ln.split()[1] for ln in lines if ln.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert 'ENTRYPOINT ["archive"]' in lines and 'CMD ["watch", "/seeds"]' in lines
    assert any(ln.startswith("RUN pip install .") for ln in lines)


def test_scripts_are_executable_and_ci_runs_the_test_command() -> None:
    for s in ("scripts/test", "scripts/run", ".ci/run", "scripts/bench.py", "scripts/make_corpus.py"):
        assert os.access(ROOT / s, os.X_OK), s
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()


def test_seeds_ship_with_the_repo() -> None:
    # A subset check: the README tells users to add their own files to seeds/.
    names = ["000_bec70df4e4b3c35a.txt", "002_85d3ba92d2aa6569.txt"]
    assert all((ROOT / "seeds" / n).is_file() for n in names)
    for n in names:  # the tests' fixtures are the same two files
        assert (ROOT / "tests" / "fixtures" / "wsws" / n).read_bytes() == (ROOT / "seeds" / n).read_bytes()
    shared = ROOT.parent / "shared" / "seeds"
    if shared.is_dir():
        for n in names:
            assert (shared / n).read_bytes() == Path(ROOT / "seeds" / n).read_bytes()


def test_tests_never_read_the_working_trees_seeds() -> None:
    """Users add their own articles to seeds/ (the README says so): no test may depend on it."""
    for p in (ROOT / "tests").glob("*.py"):
        if p.name == "test_docs.py":
            continue
        text = p.read_text()
        assert 'ROOT / "seeds"' not in text and "'seeds/" not in text, p.name
