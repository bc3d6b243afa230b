import http.client
import json
import os
from urllib.parse import urlparse

import mlflow
import pytest

from conftest import unique


def test_log_list_download(client, exp_id, tmp_path):
    rid = client.create_run(exp_id).info.run_id
    (tmp_path / "my.file").write_text("hello")
    d = tmp_path / "dir"
    d.mkdir()
    (d / "my.file").write_text("nested")
    (d / "plot.png").write_bytes(b"\x89PNG fake")
    client.log_artifact(rid, str(tmp_path / "my.file"))
    client.log_artifacts(rid, str(d), "dir")
    assert {f.path for f in client.list_artifacts(rid)} == {"my.file", "dir"}
    top = {f.path: f for f in client.list_artifacts(rid)}
    assert top["dir"].is_dir and top["my.file"].file_size == 5
    assert {f.path for f in client.list_artifacts(rid, "dir")} == {"dir/my.file", "dir/plot.png"}
    out = client.download_artifacts(rid, ".", str(tmp_path / "dl"))
    assert open(os.path.join(out, "dir", "my.file")).read() == "nested"
    assert open(os.path.join(out, "my.file")).read() == "hello"
    assert mlflow.artifacts.load_text(f"runs:/{rid}/my.file") == "hello"
    assert client.list_artifacts(rid, "missing") == []


def test_proxy_api_wire_format(client, api, exp_id):
    rid = client.create_run(exp_id).info.run_id
    base = f"/api/2.0/mlflow-artifacts/artifacts/{exp_id}/{rid}/artifacts"
    assert api("PUT", base + "/a.txt", data=b"abcdef").json() == {}
    assert api("PUT", base + "/nested/MLmodel", data=b"flavors: {}").status_code == 200
    r = api("GET", "/api/2.0/mlflow-artifacts/artifacts", params={"path": f"{exp_id}/{rid}/artifacts"})
    assert r.json() == {"files": [{"path": "a.txt", "is_dir": False, "file_size": 6}, {"path": "nested", "is_dir": True}]}
    r = api("GET", "/api/2.0/mlflow-artifacts/artifacts", params={"path": f"{exp_id}/{rid}/nothing"})
    assert r.status_code == 200 and r.json() == {}
    r = api("GET", base + "/nested/MLmodel")
    assert r.content == b"flavors: {}"
    assert r.headers["Content-Type"].startswith("text/plain")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Content-Disposition"] == "attachment; filename=MLmodel"
    r = api("GET", base + "/missing.bin")
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert api("DELETE", base + "/a.txt").json() == {}
    assert api("GET", base + "/a.txt").status_code == 404
    r = api("GET", "artifacts/list", params={"run_id": rid, "path": "nested"})
    assert r.json()["files"] == [{"path": "nested/MLmodel", "is_dir": False, "file_size": 11}]
    assert r.json()["root_uri"] == f"mlflow-artifacts:/{exp_id}/{rid}/artifacts"
    r = api("GET", "/get-artifact", params={"run_id": rid, "path": "nested/MLmodel"})
    assert r.content == b"flavors: {}"
    r = api("POST", "/api/2.0/mlflow-artifacts/mpu/create/" + f"{exp_id}/{rid}/artifacts/big.bin",
            json={"path": "big.bin", "num_parts": 2})
    assert r.status_code == 501 and r.json()["error_code"] == "NOT_IMPLEMENTED"
    r = api("GET", "/api/3.0/mlflow/server-info")
    assert r.status_code == 200 and r.json()["store_type"] == "SqlStore"
    assert api("GET", "/health").text == "OK"


def raw(server_url, method, path, body=b"x"):
    """Sends the path byte for byte (requests/urllib3 would remove dot segments first)."""
    u = urlparse(server_url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    conn.request(method, path, body=body if method == "PUT" else None)
    r = conn.getresponse()
    return r.status, r.read()


@pytest.mark.parametrize("path", ["../../etc/passwd", "a/../../x", "..%2f..%2fetc", "a%2F..%2F..%2Fb", "/abs/path", "a\\..\\b"])
def test_path_traversal_rejected(api, client, server_url, exp_id, path):
    rid = client.create_run(exp_id).info.run_id
    invalid = {"error_code": "INVALID_PARAMETER_VALUE", "message": "Invalid path"}
    r = api("GET", "/api/2.0/mlflow-artifacts/artifacts", params={"path": path})
    assert (r.status_code, r.json()) == (400, invalid)
    r = api("GET", "artifacts/list", params={"run_id": rid, "path": path})
    assert (r.status_code, r.json()) == (400, invalid)
    r = api("GET", "/get-artifact", params={"run_id": rid, "path": path})
    assert (r.status_code, r.json()) == (400, invalid)
    for method in ("GET", "PUT", "DELETE"):
        status, body = raw(server_url, method, "/api/2.0/mlflow-artifacts/artifacts/" + path.replace("\\", "%5C"))
        assert status == 400, (method, path, status, body)
        assert json.loads(body) == invalid
