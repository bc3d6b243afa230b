"""Users, roles and tokens with the stock clients: the mlflow client (MLFLOW_TRACKING_TOKEN and
MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD) and psycopg 3 (SCRAM-SHA-256) against a `strata serve` that
has users. This module starts its own server: the session one has no users (and stays open)."""

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from conftest import _binary, temp_dir, _free_port, _fresh_postgres_dsn


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def secured(request):
    tmp = temp_dir("strata-auth-")
    binary = _binary()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRATA_", "MLFLOW_TRACKING_"))}
    env["STRATA_DATA_DIR"] = str(tmp / "data")
    if request.param == "postgres":
        env["STRATA_META_DSN"] = _fresh_postgres_dsn()
    pg_port, port = _free_port(), _free_port()
    env["STRATA_SQLWIRE_ADDR"] = f"127.0.0.1:{pg_port}"

    def cli(*args, stdin=None):
        r = subprocess.run([binary, *args], cwd=tmp, env=env, input=stdin, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        return r.stdout

    cli("demo")
    cli("user", "add", "dev1", "--role", "developer", "--password-stdin", stdin="dev1-password\n")
    cli("user", "add", "vic", "--role", "viewer", "--env", "prod", "--password-stdin", stdin="vic-password\n")
    token = json.loads(cli("token", "create", "--user", "dev1", "--name", "pytest", "-o", "json"))["token"]

    log = open(tmp / "server.log", "wb")
    proc = subprocess.Popen([binary, "serve", "--addr", f"127.0.0.1:{port}"], cwd=tmp, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
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
    yield {"url": url, "token": token, "pg_port": pg_port}
    proc.terminate()
    proc.wait(10)
    log.close()


@pytest.fixture
def as_user(monkeypatch):
    """as_user(token=... | username=..., password=...): the mlflow client's credentials, from its env vars."""

    def set_creds(token=None, username=None, password=None):
        for k in ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
            monkeypatch.delenv(k, raising=False)
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        if token:
            monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
        if username:
            monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", username)
            monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password)

    return set_creds


def log_a_run(client):
    exp = client.create_experiment("auth-" + uuid.uuid4().hex[:10])
    run = client.create_run(exp)
    client.log_metric(run.info.run_id, "auc", 0.9)
    client.log_text(run.info.run_id, "hello", "notes/hello.txt")  # through the artifact proxy
    return exp, run.info.run_id


def test_token_logs_runs_and_artifacts(secured, as_user):
    as_user(token=secured["token"])
    client = MlflowClient(secured["url"])
    exp, run_id = log_a_run(client)
    assert client.get_run(run_id).data.metrics == {"auc": 0.9}
    assert [f.path for f in client.list_artifacts(run_id, "notes")] == ["notes/hello.txt"]
    assert client.search_runs([exp])[0].info.run_id == run_id


def test_basic_auth_logs_runs(secured, as_user):
    as_user(username="dev1", password="dev1-password")
    client = MlflowClient(secured["url"])
    _, run_id = log_a_run(client)
    assert client.get_run(run_id).data.metrics["auc"] == 0.9


def test_viewer_reads_but_cannot_log(secured, as_user):
    as_user(token=secured["token"])
    exp, run_id = log_a_run(MlflowClient(secured["url"]))
    as_user(username="vic", password="vic-password")
    client = MlflowClient(secured["url"])
    assert client.get_run(run_id).data.metrics["auc"] == 0.9
    assert any(e.experiment_id == exp for e in client.search_experiments())
    with pytest.raises(MlflowException) as e:
        client.create_experiment("nope-" + uuid.uuid4().hex[:6])
    assert "PERMISSION_DENIED" in str(e.value) or "403" in str(e.value)
    with pytest.raises(requests.HTTPError) as e:  # the artifact proxy's error reaches the caller as requests'
        client.log_text(run_id, "x", "x.txt")
    assert e.value.response.status_code == 403 and "PERMISSION_DENIED" in e.value.response.text


def test_no_or_wrong_credentials_are_refused(secured, as_user):
    as_user()
    with pytest.raises(MlflowException) as e:
        MlflowClient(secured["url"]).search_experiments()
    assert "401" in str(e.value) or "UNAUTHENTICATED" in str(e.value)
    as_user(username="dev1", password="wrong-password")
    with pytest.raises(MlflowException):
        MlflowClient(secured["url"]).search_experiments()
    r = requests.get(secured["url"] + "/api/v1/envs", timeout=10)
    assert r.status_code == 401 and "Bearer" in r.headers["WWW-Authenticate"]
    assert requests.get(secured["url"] + "/healthz", timeout=10).status_code == 200


def test_psycopg_scram(secured):
    dsn = f"host=127.0.0.1 port={secured['pg_port']} sslmode=disable"
    with psycopg.connect(f"{dsn} dbname=prod user=vic password=vic-password") as conn:
        assert conn.execute("SELECT count(*) > 0 FROM clean.orders").fetchone() == (True,)
        assert conn.execute("SHOW session_authorization").fetchone() == ("vic",)
    with pytest.raises(psycopg.OperationalError, match='password authentication failed for user "vic"'):
        psycopg.connect(f"{dsn} dbname=prod user=vic password=wrong-password")
    with pytest.raises(psycopg.OperationalError, match='password authentication failed for user "ghost"'):
        psycopg.connect(f"{dsn} dbname=prod user=ghost password=vic-password")
    with pytest.raises(psycopg.OperationalError, match='permission denied for database "dev"'):
        psycopg.connect(f"{dsn} dbname=dev user=vic password=vic-password")
