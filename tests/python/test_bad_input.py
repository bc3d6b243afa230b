"""Malformed or wrongly typed input never gets a 500: every endpoint answers 2xx/4xx with MLflow's error JSON."""
import json

import pytest

ENDPOINTS = [
    ("POST", "experiments/create"), ("GET", "experiments/get"), ("GET", "experiments/get-by-name"),
    ("POST", "experiments/search"), ("POST", "experiments/delete"), ("POST", "experiments/restore"),
    ("POST", "experiments/update"), ("POST", "experiments/set-experiment-tag"), ("POST", "experiments/delete-experiment-tag"),
    ("POST", "runs/create"), ("GET", "runs/get"), ("POST", "runs/update"), ("POST", "runs/delete"), ("POST", "runs/restore"),
    ("POST", "runs/search"), ("POST", "runs/log-metric"), ("POST", "runs/log-parameter"), ("POST", "runs/set-tag"),
    ("POST", "runs/delete-tag"), ("POST", "runs/log-batch"), ("POST", "runs/log-inputs"), ("POST", "runs/outputs"),
    ("POST", "runs/log-model"), ("GET", "metrics/get-history"), ("GET", "metrics/get-history-bulk-interval"),
    ("GET", "artifacts/list"), ("POST", "logged-models"), ("POST", "logged-models/search"), ("GET", "logged-models/m-x"),
    ("PATCH", "logged-models/m-x"), ("PATCH", "logged-models/m-x/tags"), ("POST", "logged-models/m-x/params"),
    ("POST", "registered-models/create"), ("GET", "registered-models/get"), ("POST", "registered-models/rename"),
    ("PATCH", "registered-models/update"), ("DELETE", "registered-models/delete"), ("GET", "registered-models/search"),
    ("POST", "registered-models/get-latest-versions"), ("POST", "registered-models/set-tag"),
    ("DELETE", "registered-models/delete-tag"), ("POST", "registered-models/alias"), ("GET", "registered-models/alias"),
    ("DELETE", "registered-models/alias"), ("POST", "model-versions/create"), ("GET", "model-versions/get"),
    ("PATCH", "model-versions/update"), ("DELETE", "model-versions/delete"), ("POST", "model-versions/transition-stage"),
    ("GET", "model-versions/search"), ("GET", "model-versions/get-download-uri"), ("POST", "model-versions/set-tag"),
    ("DELETE", "model-versions/delete-tag"),
]

BODIES = ["{", "[]", '"x"', "null", "{}", '{"run_id": 5, "experiment_id": "abc", "name": {"a": 1}}',
          '{"run_id": "r", "metrics": [1, 2], "params": {"a": 1}, "tags": [null], "datasets": "d", "models": [5]}',
          '{"name": "m", "version": "x", "source": 7, "experiment_ids": "1", "filter": "((", "max_results": "many"}',
          '{"status": {}, "end_time": "soon", "start_time": [1], "view_type": 99, "order_by": [1]}']
QUERIES = [{}, {"run_id": "x", "experiment_id": "-1", "max_results": "nan"}, {"filter": "metrics.a >", "name": "m", "version": "0"},
           {"run_ids": ["a"] * 3, "metric_key": "", "start_step": "x"}, {"path": "../../x", "name": "", "alias": "latest"}]


@pytest.mark.parametrize("method,path", ENDPOINTS)
def test_never_500(api, method, path):
    cases = [dict(params=q) for q in QUERIES] if method == "GET" else \
        [dict(data=b, headers={"Content-Type": "application/json"}) for b in BODIES]
    for kw in cases:
        r = api(method, path, **kw)
        assert r.status_code < 500, (method, path, kw, r.status_code, r.text)
        if r.status_code >= 400:
            body = r.json()
            assert body["error_code"] in ("INVALID_PARAMETER_VALUE", "MALFORMED_REQUEST", "RESOURCE_DOES_NOT_EXIST",
                                          "RESOURCE_ALREADY_EXISTS", "BAD_REQUEST"), body
            assert body["message"]
        else:
            json.loads(r.text or "{}")


# Files `strata table import` must refuse (exit 5, input data rejected), naming the file and the place to look,
# in the user's terms: no DuckDB statement, caret or option names.
HOSTILE_FILES = [
    ("dup.csv", b"id,name,id\n1,a,2\n", 'line 1: the header names a column more than once: "id"'),
    ("quote.csv", b'a,b,c\n1,"a",1.5\n2,"b,2.5\n3,c,3.5\n', 'line 3, column "b": the quoted value that starts here is never closed'),
    ("mixed.jsonl", b'{"v": 1}\n{"v": "two"}\n', 'line 2: key "v" has a string value here and a number value on line 1'),
    ("empty.csv", b"", "is empty"),
    ("nul.csv", b"a,b\n1,x\x00y\n", 'line 2, column "b": contains a NUL byte'),
    ("long.csv", b"a,b\n1,x\n2," + b"y" * (3 << 20) + b"\n", "line 3: the row is longer than"),
    ("broken.parquet", b"PAR1\x15\x04garbage, not a footer", "cannot read it as Parquet"),
    ("rows.csv", b"a,b\n1,2,3\n", "line 2"),
]


@pytest.mark.parametrize("name,data,where", HOSTILE_FILES, ids=[h[0] for h in HOSTILE_FILES])
def test_import_refuses_bad_files(server, tmp_path, name, data, where):
    path = tmp_path / name
    path.write_bytes(data)
    rc, out, err = server.cli("table", "import", "--env", "dev", "raw.hostile_" + name.split(".")[0], str(path))
    assert rc == 5, (rc, out, err)
    assert str(path) in err and where in err, err
    for internal in ("SELECT", "read_csv", "read_parquet", "LINE 1", "max_line_size", "^"):
        assert internal not in err, err
    rc, out, err = server.cli("table", "list", "--env", "dev")
    assert "hostile_" + name.split(".")[0] not in out, "a refused import creates no table"
