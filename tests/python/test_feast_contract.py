"""Issue 9's Feast contract through Feast's own client, and the dataset lineage through MLflow's own client.

- The stock Feast SDK (0.67, remote online store) asks by feature service with full feature names: the answer
  names `view__feature` columns in the requested order, and every status reaches Feast as its FieldStatus:
  PRESENT, NULL_VALUE (a stored null), NOT_FOUND (no row), OUTSIDE_MAX_AGE (older than the view's ttl; the value
  is still returned, as Feast's Go server does).
- `strata dataset build --run RUN_ID` records the dataset as an MLflow dataset input of the run, read back with
  the stock MlflowClient: name, digest, source type, source (table, version, snapshot) and schema.
"""
import json
import time
import uuid
from pathlib import Path

import requests

from conftest import feast_remote_store

RIDERS = """entities:
  - name: rider
    join_keys: [{name: rider_id, type: long}]
feature_views:
  - name: rider_stats
    entities: [rider]
    source: {table: raw.rider_stats}
    event_time: event_timestamp
    ttl: 1d
    online: true
    features:
      - {name: score, type: double}
      - {name: trips, type: long}
      - {name: city, type: string}
feature_services:
  - name: rider_svc
    features: [rider_stats:trips, rider_stats:score]
"""

FEAST_REPO = '''from datetime import timedelta
from feast import Entity, FeatureService, FeatureView, Field, FileSource
from feast.types import Float64, Int64, String
rider = Entity(name="rider", join_keys=["rider_id"])
source = FileSource(path="data.parquet", timestamp_field="event_timestamp")
rider_stats = FeatureView(name="rider_stats", entities=[rider], ttl=timedelta(days=1), online=True, source=source,
    schema=[Field(name="rider_id", dtype=Int64), Field(name="score", dtype=Float64), Field(name="trips", dtype=Int64),
            Field(name="city", dtype=String)])
rider_svc = FeatureService(name="rider_svc", features=[rider_stats[["trips", "score"]]])
'''


def _apply_riders(server, tmp_path):
    project = Path(server.cwd)
    (project / "features").mkdir(exist_ok=True)
    (project / "features" / "riders.yaml").write_text(RIDERS)
    csv = tmp_path / "rider_stats.csv"
    csv.write_text("rider_id,event_timestamp,score,trips,city\n1,2026-01-01 00:00:00,0.5,3,paris\n"
                   "2,2026-01-02 00:00:00,0.25,4,rome\n")
    rc, out, err = server.cli("table", "import", "--env", "dev", "raw.rider_stats", str(csv))
    assert rc == 0 or "already" in err, err
    rc, out, err = server.cli("apply", "--env", "dev")
    assert rc == 0, err


def test_feast_sdk_feature_service_statuses(server, tmp_path):
    _apply_riders(server, tmp_path)
    push = {"push_source_name": "rider_stats", "to": "online",
            "df": {"rider_id": [101, 102, 103],
                   "event_timestamp": ["2126-01-01T00:00:00Z", "2126-01-01T00:00:00Z", "2020-01-01T00:00:00Z"],
                   "score": [0.75, None, 0.5], "trips": [7, 8, 9], "city": ["oslo", "lima", "kyiv"]}}
    deadline = time.time() + 15  # serving caches an environment's definitions for serving.definitions_ttl (5s)
    while True:
        r = requests.post(server.url + "/feast/dev/push", json=push, timeout=30)
        if r.status_code == 200 or time.time() > deadline:
            break
        time.sleep(0.5)
    assert r.status_code == 200, r.text

    from feast.protos.feast.serving.ServingService_pb2 import FieldStatus

    store = feast_remote_store(server.url, tmp_path / "feast_repo", "strata_contract", FEAST_REPO)
    resp = store.get_online_features(
        features=store.get_feature_service("rider_svc"),
        entity_rows=[{"rider_id": 101}, {"rider_id": 102}, {"rider_id": 103}, {"rider_id": 999}],
        full_feature_names=True,
    )
    got = resp.to_dict()
    # The service's order (trips before score), full names, entity keys first.
    assert list(got) == ["rider_id", "rider_stats__trips", "rider_stats__score"]
    assert got["rider_id"] == [101, 102, 103, 999]
    assert got["rider_stats__trips"] == [7, 8, 9, None]
    assert got["rider_stats__score"] == [0.75, None, 0.5, None]
    names = list(resp.proto.metadata.feature_names.val)
    statuses = {n: list(resp.proto.results[i].statuses) for i, n in enumerate(names)}
    assert statuses["rider_stats__trips"] == [FieldStatus.PRESENT, FieldStatus.PRESENT, FieldStatus.OUTSIDE_MAX_AGE,
                                              FieldStatus.NOT_FOUND]
    assert statuses["rider_stats__score"] == [FieldStatus.PRESENT, FieldStatus.NULL_VALUE, FieldStatus.OUTSIDE_MAX_AGE,
                                              FieldStatus.NOT_FOUND]

    # A list of features in another order than the view declares them, short names: the requested order.
    got = store.get_online_features(features=["rider_stats:city", "rider_stats:score"],
                                    entity_rows=[{"rider_id": 101}]).to_dict()
    assert list(got) == ["rider_id", "city", "score"]
    assert got["city"] == ["oslo"]

    # Bad input reaches the Feast caller as Strata's 400 naming it.
    try:
        store.get_online_features(features=["rider_stats:nope"], entity_rows=[{"rider_id": 101}])
    except Exception as e:  # Feast raises RuntimeError("Failed to get online features: 400 ...")
        assert "400" in str(e) and "rider_stats:nope" in str(e), e
    else:
        raise AssertionError("an unknown feature must fail")


def test_dataset_build_records_mlflow_input(server, client, exp_id, tmp_path):
    _apply_riders(server, tmp_path)
    run = client.create_run(exp_id)
    rid = run.info.run_id
    spine = tmp_path / "spine.csv"
    spine.write_text("rider_id,event_timestamp,label\n1,2026-01-01 12:00:00,x\n2,2026-01-01 12:00:00,y\n")
    name = "riders_" + uuid.uuid4().hex[:8]
    rc, out, err = server.cli("dataset", "build", name, "--spine", str(spine), "--features", "rider_stats:score",
                              "--env", "dev", "--run", rid, "-o", "json")
    assert rc == 0, err
    built = json.loads(out)

    inputs = client.get_run(rid).inputs.dataset_inputs
    assert len(inputs) == 1
    ds = inputs[0].dataset
    assert ds.name == name
    assert ds.source_type == "strata"
    assert len(ds.digest) == 8
    src = json.loads(ds.source)
    assert src["table"] == "datasets." + name
    assert src["version"] == 1
    assert src["snapshot_id"] == built["snapshot_id"]
    cols = {c["name"]: c["type"] for c in json.loads(ds.schema)["mlflow_colspec"]}
    assert cols["rider_id"] == "long" and cols["score"] == "double" and cols["label"] == "string"
    assert {t.key: t.value for t in inputs[0].tags}.get("mlflow.data.context")

    # The same dataset again is not a second input; an unknown run fails and builds nothing.
    rc, out, err = server.cli("dataset", "build", name + "_x", "--spine", str(spine), "--features", "rider_stats:score",
                              "--env", "dev", "--run", "0" * 32)
    assert rc != 0 and "--run" in err, err
    rc, out, err = server.cli("dataset", "show", name + "_x", "--env", "dev")
    assert rc == 3, (rc, out, err)
