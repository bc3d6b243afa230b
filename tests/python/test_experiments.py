import pytest
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException

from conftest import unique


def test_default_experiment_exists(client):
    exp = client.get_experiment("0")
    assert exp.name == "Default"
    assert exp.lifecycle_stage == "active"
    assert client.get_experiment_by_name("Default").experiment_id == "0"
    names = [e.name for e in client.search_experiments(max_results=50000)]
    assert "Default" in names


def test_create_get_rename_tags_delete_restore(client):
    name = unique("exp")
    eid = client.create_experiment(name, tags={"team": "ml", "empty": ""})
    exp = client.get_experiment(eid)
    assert exp.name == name
    assert exp.tags == {"team": "ml", "empty": ""}
    assert exp.artifact_location.endswith("/" + eid)
    assert client.get_experiment_by_name(name).experiment_id == eid
    assert client.get_experiment_by_name(unique("missing")) is None

    client.rename_experiment(eid, name + "-renamed")
    assert client.get_experiment(eid).name == name + "-renamed"
    client.set_experiment_tag(eid, "stage", "dev")
    client.delete_experiment_tag(eid, "team")
    assert client.get_experiment(eid).tags == {"empty": "", "stage": "dev"}

    client.delete_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "deleted"
    # The name of a deleted experiment is still taken.
    with pytest.raises(MlflowException) as e:
        client.create_experiment(name + "-renamed")
    assert e.value.error_code == "RESOURCE_ALREADY_EXISTS"
    deleted = client.search_experiments(view_type=ViewType.DELETED_ONLY, filter_string=f"name = '{name}-renamed'")
    assert [x.experiment_id for x in deleted] == [eid]
    client.restore_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "active"


def test_duplicate_and_missing(client):
    name = unique("dup")
    client.create_experiment(name)
    with pytest.raises(MlflowException) as e:
        client.create_experiment(name)
    assert e.value.error_code == "RESOURCE_ALREADY_EXISTS"
    assert e.value.get_http_status_code() == 400
    with pytest.raises(MlflowException) as e:
        client.get_experiment("987654321")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert e.value.get_http_status_code() == 404


def test_search_filter_order_pages(client):
    prefix = unique("srch")
    ids = [client.create_experiment(f"{prefix}-{i}", tags={"k": "v" if i % 2 else "w"}) for i in range(5)]
    found = client.search_experiments(filter_string=f"name LIKE '{prefix}-%' AND tags.k = 'v'", order_by=["name DESC"])
    assert [e.name for e in found] == [f"{prefix}-3", f"{prefix}-1"]
    found = client.search_experiments(filter_string=f"name ILIKE '{prefix.upper()}-%' AND tag.k ILIKE '%W%'")
    assert sorted(e.experiment_id for e in found) == sorted([ids[0], ids[2], ids[4]])
    # Default order is newest first, then experiment_id.
    found = client.search_experiments(filter_string=f"attribute.name LIKE '{prefix}%'")
    expect = sorted(found, key=lambda e: (-e.creation_time, int(e.experiment_id)))
    assert [e.experiment_id for e in found] == [e.experiment_id for e in expect]
    assert sorted(e.experiment_id for e in found) == sorted(ids)

    seen, token = [], None
    for _ in range(10):
        page = client.search_experiments(filter_string=f"name LIKE '{prefix}%'", max_results=2, page_token=token,
                                         order_by=["name"])
        seen += [e.name for e in page]
        token = page.token
        if not token:
            break
    assert seen == [f"{prefix}-{i}" for i in range(5)]
    assert client.search_experiments(filter_string=f"name != '{prefix}-0' AND name LIKE '{prefix}%'", max_results=10).token is None


def test_bad_requests(api):
    r = api("POST", "experiments/create", json={"name": 123})
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "Invalid value 123 for parameter 'name'" in r.json()["message"]
    r = api("POST", "experiments/create", json={})
    assert r.status_code == 400 and "Missing value for required parameter 'name'" in r.json()["message"]
    r = api("POST", "experiments/create", json={"name": unique(), "tags": "5"})
    assert r.status_code == 400
    r = api("POST", "experiments/create", data="{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error_code"] in ("MALFORMED_REQUEST", "INVALID_PARAMETER_VALUE")
    r = api("POST", "experiments/create", data="[1,2]", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    r = api("POST", "experiments/search", json={"filter": "name = 'a' OR name = 'b'"})
    assert r.status_code == 400 and "position" in r.json()["message"]
    r = api("GET", "experiments/get", params={"experiment_id": "abc"})
    assert r.status_code == 400
