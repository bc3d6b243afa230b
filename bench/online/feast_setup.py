"""Builds a Feast 0.67 repo with the same data shape as Strata's bench view (entity driver_id, feature view
`bench` with 50 float features f00..f49, `keyspace` entities) and loads it into Feast's online store
(sqlite, the default, or redis). Usage: python feast_setup.py REPO_DIR KEYSPACE [redis_host:port]"""
import os
import sys
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd

repo, keyspace = sys.argv[1], int(sys.argv[2])
redis = sys.argv[3] if len(sys.argv) > 3 else ""
os.makedirs(repo, exist_ok=True)
online = f'{{type: redis, connection_string: "{redis}"}}' if redis else '{type: sqlite, path: online.db}'
with open(os.path.join(repo, "feature_store.yaml"), "w") as f:
    f.write(f"""project: bench
provider: local
registry: registry.db
online_store: {online}
offline_store: {{type: file}}
entity_key_serialization_version: 3
""")
features = ",\n        ".join(f'Field(name="f{i:02d}", dtype=Float64)' for i in range(50))
with open(os.path.join(repo, "repo.py"), "w") as f:
    f.write(f"""from datetime import timedelta
from feast import Entity, FeatureView, Field, FileSource
from feast.types import Float64, Int64
driver = Entity(name="driver", join_keys=["driver_id"])
source = FileSource(path="data.parquet", timestamp_field="event_timestamp")
bench = FeatureView(name="bench", entities=[driver], ttl=timedelta(days=30), online=True, source=source,
    schema=[Field(name="driver_id", dtype=Int64),
        {features}])
""")
now = datetime.now(timezone.utc)
df = pd.DataFrame({"driver_id": np.arange(keyspace, dtype=np.int64), "event_timestamp": [now] * keyspace})
for i in range(50):
    df[f"f{i:02d}"] = np.random.rand(keyspace)
df.to_parquet(os.path.join(repo, "data.parquet"))

import subprocess  # noqa: E402

from feast import FeatureStore  # noqa: E402

os.chdir(repo)
subprocess.run([os.path.join(os.path.dirname(sys.executable), "feast"), "apply"], check=True)
store = FeatureStore(repo_path=".")
store.write_to_online_store("bench", df)
print("feast repo ready:", repo, len(df), "entities")
