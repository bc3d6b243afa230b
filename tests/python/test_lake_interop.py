"""PyIceberg opens the tables Strata writes: the catalog is a SQL (JDBC-layout) catalog in Strata's metadata
database whose catalog_name is the environment, so no export step stands between Strata and other engines."""
import os
import subprocess
import pathlib

import pytest
from pyiceberg.catalog.sql import SqlCatalog

from conftest import _binary

REPO = pathlib.Path(__file__).resolve().parents[2]


def strata_bin():
    return _binary()


def strata(project, *args, env=None):
    e = dict(os.environ, STRATA_PROJECT=str(project), **(env or {}))
    r = subprocess.run([strata_bin(), *args], env=e, capture_output=True, text=True)
    assert r.returncode == 0, f"strata {' '.join(args)} failed: {r.stderr}"
    return r.stdout


def pg_dsn():
    dsn = os.environ.get("STRATA_TEST_PG_DSN")
    assert dsn, "STRATA_TEST_PG_DSN is not set: run the tests with ./scripts/test"
    import psycopg

    name = "strata_py_" + os.urandom(4).hex()
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    return dsn.rsplit("/", 1)[0] + "/" + name + "?sslmode=disable"


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_pyiceberg_reads_strata_tables(tmp_path, backend):
    env = {}
    if backend == "postgres":
        env["STRATA_META_DSN"] = pg_dsn().split("?")[0]
    strata(tmp_path, "init", env=env)
    csv = tmp_path / "orders.csv"
    csv.write_text("order_id,amount,status\n1,9.5,paid\n2,20.0,shipped\n3,1.25,paid\n")
    strata(tmp_path, "table", "import", "--env", "dev", "raw.orders", str(csv), env=env)
    strata(tmp_path, "table", "import", "--env", "dev", "raw.orders", str(csv), env=env)
    strata(tmp_path, "env", "clone", "dev", "prod", "--force", env=env)
    # A clone into prod is staged like any prod write: other engines read prod's release, so publish it.
    strata(tmp_path, "release", "publish", "--env", "prod", env=env)

    if backend == "sqlite":
        uri = f"sqlite:///{tmp_path}/strata-data/meta.db"
    else:
        uri = "postgresql+psycopg2://" + env["STRATA_META_DSN"].split("://", 1)[1]
    warehouse = f"file://{tmp_path}/strata-data/warehouse"
    for catalog_name, rows in (("dev", 6), ("prod", 6)):
        cat = SqlCatalog(catalog_name, uri=uri, warehouse=warehouse)
        assert ("raw",) in cat.list_namespaces()
        assert ("raw", "orders") in cat.list_tables("raw")
        tbl = cat.load_table("raw.orders")
        assert tbl.format_version == 2
        assert [f.name for f in tbl.schema().fields] == ["order_id", "amount", "status"]
        data = tbl.scan().to_arrow()
        assert data.num_rows == rows
        assert sorted(data.column("order_id").to_pylist()) == [1, 1, 2, 2, 3, 3]
        assert len(tbl.snapshots()) >= 1
    # Time travel through PyIceberg matches Strata's snapshots.
    dev = SqlCatalog("dev", uri=uri, warehouse=warehouse).load_table("raw.orders")
    first = dev.snapshots()[0].snapshot_id
    assert dev.scan(snapshot_id=first).to_arrow().num_rows == 3
    # Another catalog name sees nothing: tables are keyed by environment.
    assert SqlCatalog("staging", uri=uri, warehouse=warehouse).list_namespaces() == []


def backend_env(backend):
    return {"STRATA_META_DSN": pg_dsn().split("?")[0]} if backend == "postgres" else {}


def catalog(project, env, name):
    if "STRATA_META_DSN" in env:
        uri = "postgresql+psycopg2://" + env["STRATA_META_DSN"].split("://", 1)[1]
    else:
        uri = f"sqlite:///{project}/strata-data/meta.db"
    return SqlCatalog(name, uri=uri, warehouse=f"file://{project}/strata-data/warehouse")


def ids(arrow_table):
    return sorted(arrow_table.column("order_id").to_pylist())


def strata_ids(project, env, table="raw.orders"):
    """The order ids `strata sql --env prod` sees."""
    out = strata(project, "sql", "--env", "prod", "--format", "csv", f"SELECT order_id FROM {table} ORDER BY order_id", env=env)
    return [int(v) for v in out.split()[1:]]


def prod_orders(project, env):
    return catalog(project, env, "prod").load_table("raw.orders")


def scan_ref(tbl, ref):
    snap = tbl.snapshot_by_name(ref)
    assert snap is not None, f"no ref {ref}: {tbl.refs()}"
    return ids(tbl.scan(snapshot_id=snap.snapshot_id).to_arrow())


CSV = "order_id,amount,status\n1,9.5,paid\n2,20.0,shipped\n3,1.25,paid\n"
MORE = "order_id,amount,status\n4,3.0,paid\n5,7.5,paid\n"


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_pyiceberg_sees_prod_releases(tmp_path, backend):
    """Other engines read a prod table's main branch: it is the current release's pin. Staged writes (a clone
    into prod) are on the staging branch until published; rollback moves main back; each release is a tag."""
    env = backend_env(backend)
    strata(tmp_path, "init", env=env)
    (tmp_path / "orders.csv").write_text(CSV)
    (tmp_path / "more.csv").write_text(MORE)
    strata(tmp_path, "table", "import", "--env", "dev", "raw.orders", str(tmp_path / "orders.csv"), env=env)

    # Staged: PyIceberg's default read (main) sees nothing; the staging branch can be read explicitly.
    strata(tmp_path, "env", "clone", "dev", "prod", "--force", env=env)
    tbl = prod_orders(tmp_path, env)
    assert tbl.current_snapshot() is None
    assert tbl.scan().to_arrow().num_rows == 0
    assert scan_ref(tbl, "staging") == [1, 2, 3]

    strata(tmp_path, "release", "publish", "--env", "prod", env=env)
    tbl = prod_orders(tmp_path, env)
    assert ids(tbl.scan().to_arrow()) == [1, 2, 3] == strata_ids(tmp_path, env)
    assert "staging" not in tbl.refs()

    # dev moves on; cloning it into prod again is staged until published.
    strata(tmp_path, "table", "import", "--env", "dev", "raw.orders", str(tmp_path / "more.csv"), env=env)
    strata(tmp_path, "env", "clone", "dev", "prod", "--force", env=env)
    tbl = prod_orders(tmp_path, env)
    assert ids(tbl.scan().to_arrow()) == [1, 2, 3] == strata_ids(tmp_path, env)
    assert scan_ref(tbl, "staging") == [1, 2, 3, 4, 5]
    strata(tmp_path, "release", "publish", "--env", "prod", env=env)
    tbl = prod_orders(tmp_path, env)
    assert ids(tbl.scan().to_arrow()) == [1, 2, 3, 4, 5] == strata_ids(tmp_path, env)

    # Rollback: main goes back to release 1's pin.
    strata(tmp_path, "release", "rollback", "1", "--env", "prod", env=env)
    tbl = prod_orders(tmp_path, env)
    assert ids(tbl.scan().to_arrow()) == [1, 2, 3] == strata_ids(tmp_path, env)

    # Each release is a tag: VERSION AS OF 'release-N'.
    assert scan_ref(tbl, "release-1") == [1, 2, 3]
    assert scan_ref(tbl, "release-2") == [1, 2, 3, 4, 5]
    assert scan_ref(tbl, "release-3") == [1, 2, 3]

    # Nothing new: publish says so and publishes nothing.
    out = strata(tmp_path, "release", "publish", "--env", "prod", env=env)
    assert out.startswith("nothing to publish: prod release 3")


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_forced_prod_write_is_staged(tmp_path, backend):
    """`strata table import --env prod --force` stages the write: PyIceberg's read of prod (main) does not see it
    until `release publish`, and sees exactly what `strata sql --env prod` sees at every step."""
    env = backend_env(backend)
    strata(tmp_path, "init", env=env)
    (tmp_path / "orders.csv").write_text(CSV)
    (tmp_path / "more.csv").write_text(MORE)
    strata(tmp_path, "table", "import", "--env", "dev", "raw.orders", str(tmp_path / "orders.csv"), env=env)
    strata(tmp_path, "env", "clone", "dev", "prod", "--force", env=env)
    strata(tmp_path, "release", "publish", "--env", "prod", env=env)

    strata(tmp_path, "table", "import", "--env", "prod", "raw.orders", str(tmp_path / "more.csv"), "--force", env=env)
    tbl = prod_orders(tmp_path, env)
    assert ids(tbl.scan().to_arrow()) == [1, 2, 3] == strata_ids(tmp_path, env), "an unpublished forced write"
    assert scan_ref(tbl, "staging") == [1, 2, 3, 4, 5]

    strata(tmp_path, "release", "publish", "--env", "prod", env=env)
    tbl = prod_orders(tmp_path, env)
    assert ids(tbl.scan().to_arrow()) == [1, 2, 3, 4, 5] == strata_ids(tmp_path, env)

    strata(tmp_path, "release", "rollback", "1", "--env", "prod", env=env)
    tbl = prod_orders(tmp_path, env)
    assert ids(tbl.scan().to_arrow()) == [1, 2, 3] == strata_ids(tmp_path, env)
    assert scan_ref(tbl, "release-2") == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_tables_other_engines_create_are_protected_when_shared(tmp_path, backend):
    """A table PyIceberg (or Spark) created has no gc.enabled=false; once a clone shares its files and a release
    pins it, both sides carry gc.enabled=false, so another engine cannot expire and delete pinned files."""
    import pyarrow as pa
    from pyiceberg.schema import Schema
    from pyiceberg.types import LongType, NestedField

    env = backend_env(backend)
    strata(tmp_path, "init", env=env)
    dev = catalog(tmp_path, env, "dev")
    tbl = dev.create_table("raw.events", schema=Schema(NestedField(1, "event_id", LongType(), required=False)))
    tbl.append(pa.table({"event_id": pa.array([1, 2], pa.int64())}))
    assert tbl.properties.get("gc.enabled") != "false"

    strata(tmp_path, "env", "clone", "dev", "prod", "--force", "raw.events", env=env)
    assert dev.load_table("raw.events").properties["gc.enabled"] == "false", "the source shares its files now"
    strata(tmp_path, "release", "publish", "--env", "prod", env=env)
    prod = catalog(tmp_path, env, "prod").load_table("raw.events")
    assert prod.properties["gc.enabled"] == "false"
    assert sorted(prod.scan().to_arrow().column("event_id").to_pylist()) == [1, 2]
    out = strata(tmp_path, "sql", "--env", "prod", "--format", "csv", "SELECT count(*) AS n FROM raw.events", env=env)
    assert out.split() == ["n", "2"]

    # A table another engine created and wrote in prod directly: the release pins it, tags it and protects it.
    prod_cat = catalog(tmp_path, env, "prod")
    made = prod_cat.create_table("raw.made_elsewhere", schema=Schema(NestedField(1, "event_id", LongType(), required=False)))
    made.append(pa.table({"event_id": pa.array([7], pa.int64())}))
    assert made.properties.get("gc.enabled") != "false"
    strata(tmp_path, "release", "publish", "--env", "prod", env=env)
    made = prod_cat.load_table("raw.made_elsewhere")
    assert made.properties["gc.enabled"] == "false"
    assert made.snapshot_by_name("release-2").snapshot_id == made.current_snapshot().snapshot_id


def test_codec_setting_is_shared_with_other_engines(tmp_path):
    """The codec of a table's files is a table property other engines see and set: Strata's tables carry
    strata.write.parquet.codec=auto and the codec in use in write.parquet.compression-codec; a codec fixed from
    PyIceberg is what Strata's next write records (and what PyIceberg's own writes follow), the rows stay
    readable by both, and a value naming no codec makes Strata's write fail, naming the property."""
    strata(tmp_path, "init")
    csv = tmp_path / "scores.csv"
    csv.write_text("id,score\n1,0.125\n2,0.5\n3,0.875\n")
    strata(tmp_path, "table", "import", "raw.scores", str(csv))
    dev = catalog(tmp_path, {}, "dev")
    tbl = dev.load_table("raw.scores")
    assert tbl.properties["strata.write.parquet.codec"] == "auto"
    assert tbl.properties["write.parquet.compression-codec"] == "zstd"

    with tbl.transaction() as tx:
        tx.set_properties({"strata.write.parquet.codec": "uncompressed"})
    strata(tmp_path, "table", "import", "raw.scores", str(csv))
    tbl = dev.load_table("raw.scores")
    assert tbl.properties["write.parquet.compression-codec"] == "uncompressed"
    assert sorted(tbl.scan().to_arrow().column("id").to_pylist()) == [1, 1, 2, 2, 3, 3]
    out = strata(tmp_path, "sql", "--format", "csv", "SELECT count(*) AS n, sum(score) AS s FROM raw.scores")
    assert out.split() == ["n,s", "6,3"]

    with tbl.transaction() as tx:
        tx.set_properties({"strata.write.parquet.codec": "brotli-9"})
    r = subprocess.run([strata_bin(), "table", "import", "raw.scores", str(csv)], env=dict(os.environ, STRATA_PROJECT=str(tmp_path)),
                       capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    assert "strata.write.parquet.codec" in r.stderr
    assert dev.load_table("raw.scores").scan().to_arrow().num_rows == 6
