"""Writes the 10M-row feature table of bench/online/load10m.sh as Parquet, one row group per million rows (bounded
memory): user_id (int64, ENTITIES distinct ids), event_ts (timestamp µs, UTC), f0..f{FEATURES-1} (float64, every
11th value null).

    python gen10m.py OUT.parquet ROWS ENTITIES FEATURES
"""
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

out, rows, entities, nfeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
base = np.datetime64("2026-01-01T00:00:00", "us")
rng = np.random.default_rng(7)
fields = [pa.field("user_id", pa.int64(), nullable=False), pa.field("event_ts", pa.timestamp("us", tz="UTC"), nullable=False)]
fields += [pa.field(f"f{i}", pa.float64()) for i in range(nfeat)]
schema = pa.schema(fields)
chunk = 1_000_000
with pq.ParquetWriter(out, schema, compression="zstd") as w:
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        idx = np.arange(start, start + n, dtype=np.int64)
        cols = [pa.array(idx % entities), pa.array(base + (idx // entities) * 60_000_000 + idx % 3_600_000_000, type=pa.timestamp("us", tz="UTC"))]
        for i in range(nfeat):
            vals = rng.random(n)
            cols.append(pa.array(vals, mask=(idx + i) % 11 == 0))
        w.write_table(pa.Table.from_arrays(cols, schema=schema))
