"""PyIceberg opens the tables Strata writes: the catalog is a SQL (JDBC-layout) catalog in Strata's metadata
database whose catalog_name is the environment, so no export step stands between Strata and other engines."""
import os
import subprocess
import tempfile
import pathlib

import pytest
from pyiceberg.catalog.sql import SqlCatalog

REPO = pathlib.Path(__file__).resolve().parents[2]
_BIN = {}


def strata_bin():
    if os.environ.get("STRATA_BIN"):
        return os.environ["STRATA_BIN"]
    if "path" not in _BIN:
        out = pathlib.Path(tempfile.mkdtemp()) / "strata"
        subprocess.run(["go", "build", "-tags", "duckdb_arrow", "-o", str(out), "./cmd/strata"], cwd=REPO, check=True)
        _BIN["path"] = str(out)
    return _BIN["path"]


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
