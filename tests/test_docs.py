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


def test_host_side_uris_in_the_readme_work_with_the_compose_replica_set() -> None:
    """Issue 24 #9: the compose member calls itself mongo:27017, which the host cannot resolve, so
    every localhost URI the README and the systemd unit give connects directly."""
    import re

    texts = (ROOT / "README.md").read_text() + (ROOT / "scripts" / "archive-watch.service").read_text()
    uris = re.findall(r"mongodb://localhost(?::27017)?/[^\s'\"`)]*", texts)
    assert uris and all("directConnection=true" in u for u in uris), uris


def test_the_readme_shards_before_loading_and_names_every_sharded_collection() -> None:
    """Issue 24 #8: a hashed shard key on a collection that holds documents needs its index first."""
    readme = (ROOT / "README.md").read_text()
    first = readme.index("Shard the collections **before** loading them")
    assert first < readme.index('sh.shardCollection("archive.articles"')
    assert 'createIndex({_id: "hashed"})' in readme
    for coll in ("articles", "paths", "revisions", "story_bands"):
        assert f'sh.shardCollection("archive.{coll}"' in readme


def test_sharded_compose_and_the_mongodb_workflow() -> None:
    """The sharded cluster and the hosted workflow cannot run here (no Docker engine, no MongoDB):
    their syntax and what the README says of them are checked."""
    sharded = yaml.safe_load((ROOT / "docker-compose.sharded.yml").read_text())["services"]
    assert set(sharded) == {"cfg", "shard1", "shard2", "mongos", "setup"}
    assert "--configsvr" in sharded["cfg"]["command"] and all("--shardsvr" in sharded[s]["command"]
                                                               for s in ("shard1", "shard2"))
    assert sharded["mongos"]["command"][0] == "mongos" and sharded["mongos"]["ports"] == ["127.0.0.1:27018:27018"]
    setup = sharded["setup"]["command"][0]
    for coll in ("articles", "paths", "revisions", "story_bands"):
        assert f"sh.shardCollection('archive.{coll}'" in setup
    assert setup.count("sh.addShard") == 1 and "shard1/shard1:27018" in setup and "shard2/shard2:27018" in setup
    flow = yaml.safe_load((ROOT / ".github" / "workflows" / "mongodb.yml").read_text())
    jobs = flow["jobs"]
    assert jobs["replica-set"]["strategy"]["matrix"]["mongo"] == ["6.0", "7.0", "8.0"]
    runs = " ".join(str(step.get("run", "")) for job in jobs.values() for step in job["steps"])
    assert "docker-compose.sharded.yml" in runs and runs.count('scripts/test -m "slow or not slow"') == 2
    envs = [step.get("env", {}).get("ARCHIVE_TEST_MONGO_URI") for job in jobs.values() for step in job["steps"]]
    assert "mongodb://localhost:27018/" in envs
