import math
import time
from concurrent.futures import ThreadPoolExecutor

import mlflow
import pytest
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException

from conftest import unique


def test_fluent_run_with_context_tags_and_nesting(client):
    mlflow.set_experiment(unique("fluent"))
    with mlflow.start_run(run_name="parent", description="my note") as parent:
        mlflow.log_param("lr", 0.1)
        mlflow.log_metric("loss", 0.5)
        mlflow.set_tag("team", "ml")
        with mlflow.start_run(run_name="child", nested=True) as child:
            mlflow.log_metric("loss", 0.25)
    p = client.get_run(parent.info.run_id)
    c = client.get_run(child.info.run_id)
    assert p.info.run_name == "parent" and p.data.tags["mlflow.runName"] == "parent"
    assert p.data.tags["mlflow.note.content"] == "my note"
    assert p.data.tags["mlflow.source.type"] == "LOCAL"
    assert p.data.tags["mlflow.user"]
    assert p.info.user_id == p.data.tags["mlflow.user"]
    assert c.data.tags["mlflow.parentRunId"] == p.info.run_id
    assert p.data.params == {"lr": "0.1"}
    assert p.data.metrics == {"loss": 0.5}
    assert p.info.status == "FINISHED" and p.info.end_time >= p.info.start_time
    assert p.info.artifact_uri == f"mlflow-artifacts:/{p.info.experiment_id}/{p.info.run_id}/artifacts"
    nested = client.search_runs([p.info.experiment_id], f"tags.mlflow.parentRunId = '{p.info.run_id}'")
    assert [r.info.run_id for r in nested] == [c.info.run_id]


def test_run_lifecycle(client, exp_id):
    run = client.create_run(exp_id, start_time=1234, tags={"a": "b"}, run_name="named")
    assert run.info.status == "RUNNING" and run.info.end_time is None
    assert run.info.start_time == 1234 and run.info.run_name == "named"
    unnamed = client.create_run(exp_id)
    assert unnamed.info.run_name and unnamed.data.tags["mlflow.runName"] == unnamed.info.run_name
    client.set_terminated(run.info.run_id, "FAILED")
    got = client.get_run(run.info.run_id)
    assert got.info.status == "FAILED" and got.info.end_time <= int(time.time() * 1000)
    client.update_run(run.info.run_id, name="renamed")
    got = client.get_run(run.info.run_id)
    assert got.info.run_name == "renamed" and got.info.status == "FAILED"
    assert got.data.tags["mlflow.runName"] == "renamed"
    client.delete_run(run.info.run_id)
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    with pytest.raises(MlflowException) as e:
        client.log_param(run.info.run_id, "x", "1")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    client.restore_run(run.info.run_id)
    client.log_param(run.info.run_id, "x", "1")
    with pytest.raises(MlflowException) as e:
        client.get_run("0123456789abcdef0123456789abcdef")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        client.create_run("987654321")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_params_metrics_tags_and_rules(client, exp_id):
    rid = client.create_run(exp_id).info.run_id
    client.log_batch(rid, params=[Param("a", "0"), Param("b", "1"), Param("empty", "")])
    client.log_batch(rid, params=[Param("a", "0"), Param("c", "2")])  # identical re-log is fine
    with pytest.raises(MlflowException) as e:
        client.log_batch(rid, metrics=[Metric("never", 1, 1, 0)], params=[Param("a", "changed")], tags=[RunTag("never", "x")])
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "Changing param values is not allowed" in e.value.message
    run = client.get_run(rid)
    assert run.data.params == {"a": "0", "b": "1", "c": "2", "empty": ""}
    assert "never" not in run.data.metrics and "never" not in run.data.tags
    client.set_tag(rid, "t", "1")
    client.log_batch(rid, tags=[RunTag("t", "2"), RunTag("t", "3")])
    assert client.get_run(rid).data.tags["t"] == "3"
    client.delete_tag(rid, "t")
    assert "t" not in client.get_run(rid).data.tags
    with pytest.raises(MlflowException) as e:
        client.delete_tag(rid, "fakeTag")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        client.log_param(rid, "k" * 251, "v")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as e:
        client.log_param(rid, "long", "v" * 6001)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as e:
        client.log_param(rid, "../escape", "v")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_nan_inf_and_history(client, exp_id):
    rid = client.create_run(exp_id).info.run_id
    client.log_metric(rid, "nan", float("nan"), timestamp=1, step=0)
    client.log_metric(rid, "pinf", float("inf"), timestamp=1)
    client.log_metric(rid, "ninf", -float("inf"), timestamp=1)
    m = client.get_run(rid).data.metrics
    assert math.isnan(m["nan"])
    assert m["pinf"] == 1.7976931348623157e308 and m["ninf"] == -1.7976931348623157e308

    points = [(0.9, 300, 0), (0.5, 100, 2), (0.7, 200, 1), (0.6, 200, 1)]
    for v, ts, step in points:
        client.log_metric(rid, "acc", v, timestamp=ts, step=step)
    client.log_metric(rid, "acc", 0.5, timestamp=100, step=2)  # identical point: stored once
    hist = client.get_metric_history(rid, "acc")
    assert [(h.value, h.timestamp, h.step) for h in hist] == [(0.5, 100, 2), (0.6, 200, 1), (0.7, 200, 1), (0.9, 300, 0)]
    # Latest = highest step, then timestamp, then value.
    assert client.get_run(rid).data.metrics["acc"] == 0.5
    assert client.get_metric_history(rid, "unknown") == []


def test_history_pagination_and_bulk_interval(client, api, exp_id):
    rid = client.create_run(exp_id).info.run_id
    client.log_batch(rid, metrics=[Metric("m", float(i), 1000 + i, i) for i in range(10)])
    r = api("GET", "metrics/get-history", params={"run_id": rid, "metric_key": "m", "max_results": 4})
    body = r.json()
    assert r.status_code == 200 and len(body["metrics"]) == 4 and body["next_page_token"]
    assert isinstance(body["metrics"][0]["timestamp"], int)
    pages = [m["step"] for m in body["metrics"]]
    while body.get("next_page_token"):
        body = api("GET", "metrics/get-history", params={"run_id": rid, "metric_key": "m", "max_results": 4,
                                                          "page_token": body["next_page_token"]}).json()
        pages += [m["step"] for m in body.get("metrics", [])]
    assert pages == list(range(10))
    r = api("GET", "metrics/get-history", params={"run_id": rid, "metric_key": "m", "page_token": "!!"})
    assert r.status_code == 400
    r = api("GET", "metrics/get-history-bulk-interval", params={"run_ids": [rid], "metric_key": "m", "max_results": 5})
    assert sorted(m["step"] for m in r.json()["metrics"]) == [0, 2, 4, 7, 9]
    assert all(m["run_id"] == rid for m in r.json()["metrics"])
    r = api("GET", "metrics/get-history-bulk-interval",
            params={"run_ids": [rid], "metric_key": "m", "start_step": 3, "end_step": 5})
    assert [m["step"] for m in r.json()["metrics"]] == [3, 4, 5]
    for params in ({"metric_key": "m"}, {"run_ids": [rid], "metric_key": "m", "max_results": 0},
                   {"run_ids": [rid], "metric_key": "m", "start_step": 1},
                   {"run_ids": [rid], "metric_key": "m", "start_step": 5, "end_step": 1},
                   {"run_ids": [rid] * 101, "metric_key": "m"}):
        r = api("GET", "metrics/get-history-bulk-interval", params=params)
        assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE", params
    r = api("GET", "/ajax-api/2.0/mlflow/metrics/get-history-bulk", params={"run_id": [rid], "metric_key": "m"})
    assert len(r.json()["metrics"]) == 10


def test_log_batch_limits_and_wire_errors(client, api, exp_id):
    rid = client.create_run(exp_id).info.run_id
    ok = {"run_id": rid, "metrics": [{"key": f"k{i}", "value": i, "timestamp": 1} for i in range(1000)]}
    assert api("POST", "runs/log-batch", json=ok).status_code == 200
    assert len(client.get_run(rid).data.metrics) == 1000
    cases = [
        {"run_id": rid, "metrics": [{"key": f"k{i}", "value": i, "timestamp": 1} for i in range(1001)]},
        {"run_id": rid, "params": [{"key": f"p{i}", "value": "v"} for i in range(101)]},
        {"run_id": rid, "tags": [{"key": f"t{i}", "value": "v"} for i in range(101)]},
        {"run_id": rid, "metrics": "foo"},
        {"run_id": rid, "metrics": [{"key": "nots", "value": 1}]},
        {"run_id": rid, "params": [{"key": "d", "value": "1"}, {"key": "d", "value": "1"}]},
        {"run_id": 31, "key": "k", "value": "v"},
    ]
    for body in cases:
        r = api("POST", "runs/log-batch", json=body)
        assert r.status_code == 400, body
        assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    r = api("POST", "runs/log-batch", json={"run_id": rid, "metrics": [{"key": "nostep", "value": 1, "timestamp": 5}]})
    assert r.status_code == 200 and r.json() == {}
    assert api("POST", "runs/log-batch", json={"run_id": rid}).status_code == 200
    r = api("POST", "runs/log-batch", json={"run_id": "0123456789abcdef0123456789abcdef", "params": [{"key": "a", "value": "b"}]})
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    r = api("POST", "runs/log-metric", json={"run_id": 31, "key": "k", "value": 1, "timestamp": 1})
    assert r.status_code == 400 and "Invalid value 31 for parameter 'run_id'" in r.json()["message"]
    r = api("POST", "runs/log-metric", json={"run_id": rid, "key": "k", "value": 1, "timestamp": "x"})
    assert r.status_code == 400
    r = api("POST", "runs/log-metric", json={"run_id": rid, "value": 1, "timestamp": 1})
    assert r.status_code == 400 and "Missing value for required parameter 'key'" in r.json()["message"]
    r = api("POST", "runs/set-tag", json={"run_uuid": rid, "key": "legacy", "value": "ok"})
    assert r.status_code == 200 and client.get_run(rid).data.tags["legacy"] == "ok"
    r = api("POST", "runs/log-batch", data=b"\x00garbage", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error_code"] in ("MALFORMED_REQUEST", "INVALID_PARAMETER_VALUE")


def test_wire_json_shape(api, client, exp_id):
    rid = client.create_run(exp_id, start_time=5).info.run_id
    client.log_metric(rid, "nan", float("nan"), timestamp=7)
    run = api("GET", "runs/get", params={"run_id": rid}).json()["run"]
    assert run["info"]["start_time"] == 5 and "end_time" not in run["info"]
    assert run["info"]["run_uuid"] == run["info"]["run_id"] == rid
    assert run["data"]["metrics"] == [{"key": "nan", "value": "NaN", "timestamp": 7, "step": 0}]
    r = api("POST", "runs/search", json={"experiment_ids": [exp_id], "filter": "attributes.run_id = 'none'"})
    assert r.json() == {}


def test_search_runs_grammar(client, exp_id):
    runs = []
    for i in range(6):
        r = client.create_run(exp_id, start_time=1000 + i, run_name=f"run-{i}", tags={"group": "a" if i < 3 else "b"})
        rid = r.info.run_id
        metrics = [Metric("acc", i / 10, 1, 0)] if i != 5 else []
        client.log_batch(rid, metrics=metrics + [Metric("loss", 1 - i / 10, 1, 0)],
                         params=[Param("model", "RF" if i % 2 == 0 else "gbm")])
        runs.append(rid)
    client.set_terminated(runs[0])

    def names(filter_string="", order_by=None, **kw):
        found = client.search_runs([exp_id], filter_string, order_by=order_by, **kw)
        return [r.info.run_name for r in found]

    assert names() == [f"run-{i}" for i in reversed(range(6))]  # start_time DESC
    assert names("metrics.acc >= 0.2 and params.model = 'RF'", ["metrics.acc DESC"]) == ["run-4", "run-2"]
    assert names("params.model LIKE 'r%'") == []
    assert sorted(names("params.model ILIKE 'r%'")) == ["run-0", "run-2", "run-4"]
    assert names("", ["metrics.acc ASC"]) == ["run-0", "run-1", "run-2", "run-3", "run-4", "run-5"]
    assert names("", ["metrics.acc DESC"]) == ["run-4", "run-3", "run-2", "run-1", "run-0", "run-5"]
    assert names("tags.group = 'b' and metrics.loss < 0.55", ["attributes.start_time ASC"]) == ["run-5"]
    assert names("tags.group = 'b'", ["params.model", "attribute.run_name DESC"]) == ["run-4", "run-5", "run-3"]
    assert names("attributes.status = 'FINISHED'") == ["run-0"]
    assert names(f"attributes.run_id IN ('{runs[1]}', '{runs[2]}')") == ["run-2", "run-1"]
    assert names(f"attributes.run_id NOT IN ('{runs[1]}') and attributes.run_name LIKE 'run-%' and attributes.start_time > 1003") == ["run-5", "run-4"]
    assert names("attributes.run_name = 'run-3'") == ["run-3"]
    assert names("tags.`mlflow.runName` != 'run-3' and tags.group = 'a'") == ["run-2", "run-1", "run-0"]
    assert names("metrics.acc != 0.1 and metrics.acc < 0.3") == ["run-2", "run-0"]
    assert names("params.model IS NULL") == []
    for bad in ["metrics.acc > 'x'", "params.model IN ('a')", "params.model > 1", "foo.bar = 1", "metrics.acc",
                "params.model = 'a' OR params.model = 'b'", "attributes.nope = 'x'"]:
        with pytest.raises(MlflowException) as e:
            client.search_runs([exp_id], bad)
        assert e.value.error_code == "INVALID_PARAMETER_VALUE", bad
    with pytest.raises(MlflowException) as e:
        client.search_runs([exp_id], "metrics.acc > 1 OR params.model = 'x'")
    assert "position 16" in e.value.message


def test_search_runs_pagination_equal_start_times(client, exp_id):
    ids = sorted(client.create_run(exp_id, start_time=42).info.run_id for _ in range(10))
    seen, token, pages = [], None, 0
    while True:
        page = client.search_runs([exp_id], max_results=4, page_token=token)
        pages += 1
        seen += [r.info.run_id for r in page]
        token = page.token
        if not token:
            break
    assert seen == ids and pages == 3
    with pytest.raises(MlflowException) as e:
        client.search_runs([exp_id], max_results=123456789)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    found = mlflow.search_runs([exp_id], output_format="list")
    assert len(found) == 10


def test_datasets_lineage_and_search(client, exp_id):
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.data.http_dataset_source import HTTPDatasetSource

    # A Strata dataset logs its lineage digest: the run names the exact data it trained on.
    lineage = "5937117119577207079"
    ds = MetaDataset(source=HTTPDatasetSource("http://strata/api/v1/envs/prod/tables/datasets.churn_train"),
                     name="datasets.churn_train", digest=lineage)
    mlflow.set_experiment(experiment_id=exp_id)
    with mlflow.start_run() as run:
        mlflow.log_input(ds, context="training", tags={"env": "prod"})
    with mlflow.start_run() as other:
        pass
    got = client.get_run(run.info.run_id)
    (di,) = got.inputs.dataset_inputs
    assert di.dataset.name == "datasets.churn_train" and di.dataset.digest == lineage
    assert di.dataset.source_type == "http"
    assert {t.key: t.value for t in di.tags} == {"mlflow.data.context": "training", "env": "prod"}
    assert [r.info.run_id for r in client.search_runs([exp_id], f"datasets.digest = '{lineage}'")] == [run.info.run_id]
    assert [r.info.run_id for r in client.search_runs([exp_id], "datasets.context IN ('training', 'eval')")] == [run.info.run_id]
    assert [r.info.run_id for r in client.search_runs([exp_id], "dataset.name LIKE 'datasets.churn%'")] == [run.info.run_id]
    assert other.info.run_id not in [r.info.run_id for r in client.search_runs([exp_id], "datasets.name = 'datasets.churn_train'")]


def test_log_inputs_errors(api, client, exp_id):
    rid = client.create_run(exp_id).info.run_id
    assert api("POST", "runs/log-inputs", json={"datasets": []}).status_code == 400
    assert api("POST", "runs/log-inputs", json={"run_id": rid}).status_code == 400


def test_concurrent_writers(client, exp_id):
    rid = client.create_run(exp_id).info.run_id

    def work(w):
        for i in range(20):
            client.log_metric(rid, "m", float(i), timestamp=1000 + i, step=w * 100 + i)
            client.log_param(rid, f"p{w}-{i}", str(i))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    assert len(client.get_metric_history(rid, "m")) == 160
    assert len(client.get_run(rid).data.params) == 160
