"""The stock Feast SDK (0.67, its `remote` online store) reads online features from `strata serve`: a Feast
repo whose feature_store.yaml points the remote online store at http://host:port/feast/dev gets the values
pushed through Strata's Feast-shaped POST /push, NOT_FOUND entities as None."""
from pathlib import Path

import requests

from conftest import feast_remote_store

VIEW = """entities:
  - name: driver
    join_keys: [{name: driver_id, type: long}]
feature_views:
  - name: driver_stats
    entities: [driver]
    source: {table: raw.driver_stats}
    event_time: event_timestamp
    ttl: 30d
    online: true
    features:
      - {name: conv_rate, type: double}
      - {name: trips, type: long}
"""

FEAST_REPO = '''from datetime import timedelta
from feast import Entity, FeatureView, Field, FileSource
from feast.types import Float64, Int64
driver = Entity(name="driver", join_keys=["driver_id"])
source = FileSource(path="data.parquet", timestamp_field="event_timestamp")
driver_stats = FeatureView(name="driver_stats", entities=[driver], ttl=timedelta(days=30), online=True, source=source,
    schema=[Field(name="driver_id", dtype=Int64), Field(name="conv_rate", dtype=Float64), Field(name="trips", dtype=Int64)])
'''


def test_feast_sdk_reads_strata(server, tmp_path):
    project = Path(server.cwd)
    (project / "features").mkdir(exist_ok=True)
    (project / "features" / "drivers.yaml").write_text(VIEW)
    csv = tmp_path / "driver_stats.csv"
    csv.write_text("driver_id,event_timestamp,conv_rate,trips\n0,2026-01-01 00:00:00,0.1,1\n")
    rc, out, err = server.cli("table", "import", "--env", "dev", "raw.driver_stats", str(csv))
    assert rc == 0 or "already" in err, err
    rc, out, err = server.cli("apply", "--env", "dev")
    assert rc == 0, err

    r = requests.post(server.url + "/feast/dev/push", json={
        "push_source_name": "driver_stats", "to": "online",
        "df": {"driver_id": [1001, 1002], "event_timestamp": ["2126-01-01T00:00:00Z", "2126-01-01T00:00:00Z"],
               "conv_rate": [0.53, None], "trips": [7, 9]}}, timeout=30)
    assert r.status_code == 200, r.text

    store = feast_remote_store(server.url, tmp_path / "feast_repo", "strata_interop", FEAST_REPO)
    got = store.get_online_features(
        features=["driver_stats:conv_rate", "driver_stats:trips"],
        entity_rows=[{"driver_id": 1001}, {"driver_id": 1002}, {"driver_id": 5}],
    ).to_dict()
    assert got["driver_id"] == [1001, 1002, 5]
    assert got["conv_rate"] == [0.53, None, None]
    assert got["trips"] == [7, 9, None]
