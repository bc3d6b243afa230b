"""Runs the stock mlflow client against a `strata serve` started for the session.

The server binary is $STRATA_BIN if set, else built once from this checkout (go build -tags duckdb_arrow
./cmd/strata). It serves from a fresh data directory on a free 127.0.0.1 port and is stopped at the end.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_TEMP_DIRS = []


def temp_dir(prefix: str) -> Path:
    """A new directory under the system's temporary folder, removed when the test session ends (servers and
    built binaries are ~200 MB each: left behind, repeated runs fill the disk). STRATA_KEEP_TEST_DIRS=1 keeps
    them for a post-mortem."""
    d = Path(tempfile.mkdtemp(prefix=prefix))
    _TEMP_DIRS.append(d)
    return d


def pytest_sessionfinish(session, exitstatus):
    # Runs after the session-scoped fixtures' teardown has stopped every server.
    if os.environ.get("STRATA_KEEP_TEST_DIRS"):
        return
    for d in _TEMP_DIRS:
        shutil.rmtree(d, ignore_errors=True)


def _binary() -> str:
    """$STRATA_BIN, or this checkout built once per session into a directory of its own."""
    if os.environ.get("STRATA_BIN"):
        return os.environ["STRATA_BIN"]
    if "bin" not in _BUILT:
        out = temp_dir("strata-bin-") / "strata"
        subprocess.run(["go", "build", "-tags", "duckdb_arrow", "-o", str(out), "./cmd/strata"], cwd=ROOT, check=True)
        _BUILT["bin"] = str(out)
    return _BUILT["bin"]


_BUILT = {}


def _fresh_postgres_dsn() -> str:
    """A new empty database on the server named by STRATA_TEST_PG_DSN (scripts/test and CI start one)."""
    base = os.environ.get("STRATA_TEST_PG_DSN")
    if not base:
        raise RuntimeError("STRATA_TEST_PG_DSN is not set: run the suite with ./scripts/test, which starts PostgreSQL")
    import psycopg

    name = "strata_mlflow_" + uuid.uuid4().hex[:10]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    from urllib.parse import urlsplit, urlunsplit

    u = urlsplit(base)
    return urlunsplit((u.scheme, u.netloc, "/" + name, u.query, u.fragment))


class Server:
    """A running `strata serve`: its URL, and the binary/environment/directory to run CLI commands on its data."""

    def __init__(self, url, binary, env, cwd):
        self.url, self.binary, self.env, self.cwd = url, binary, env, cwd

    def cli(self, *args):
        r = subprocess.run([self.binary, *args], cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=120)
        return r.returncode, r.stdout, r.stderr


# Every test runs against a server on each metadata database: SQLite (the default) and PostgreSQL.
@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def server(request):
    tmp = temp_dir("strata-mlflow-")
    binary = _binary()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATA_")}
    if request.param == "postgres":
        env["STRATA_META_DSN"] = _fresh_postgres_dsn()
    env["STRATA_DATA_DIR"] = str(tmp / "data")
    log = open(tmp / "server.log", "wb")
    proc = subprocess.Popen(
        [binary, "serve", "--data-dir", str(tmp / "data"), "--addr", f"127.0.0.1:{port}"],
        cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 120
    while True:
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise RuntimeError("strata serve did not start:\n" + (tmp / "server.log").read_text())
        time.sleep(0.1)
    import mlflow

    os.environ["MLFLOW_TRACKING_URI"] = url
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    mlflow.set_tracking_uri(url)
    yield Server(url, binary, env, tmp)
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture
def server_url(server):
    return server.url


@pytest.fixture
def client(server_url):
    from mlflow import MlflowClient

    return MlflowClient(server_url)


@pytest.fixture
def exp_id(client):
    return client.create_experiment("exp-" + uuid.uuid4().hex[:12])


@pytest.fixture
def api(server_url):
    """Raw HTTP access: api(method, path, **requests_kwargs) against /api/2.0/mlflow."""

    def call(method, path, **kw):
        base = "" if path.startswith("/") else "/api/2.0/mlflow/"
        return requests.request(method, server_url + base + path, timeout=30, **kw)

    return call


def unique(prefix="x"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def feast_remote_store(server_url, repo_dir, project, repo_py):
    """A Feast repo in repo_dir whose remote online store is Strata's /feast/dev, applied with Feast's own CLI
    (the venv's `feast`), and its FeatureStore."""
    import sys
    repo_dir.mkdir()
    (repo_dir / "feature_store.yaml").write_text(
        f"project: {project}\nprovider: local\nregistry: registry.db\n"
        f'online_store: {{type: remote, path: "{server_url}/feast/dev"}}\n'
        "offline_store: {type: file}\nentity_key_serialization_version: 3\n")
    (repo_dir / "repo.py").write_text(repo_py)
    feast = Path(sys.executable).parent / "feast"
    subprocess.run([str(feast), "apply"], cwd=repo_dir, check=True, capture_output=True, timeout=300)
    from feast import FeatureStore
    return FeatureStore(repo_path=str(repo_dir))
