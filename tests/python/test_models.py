import json

import mlflow
import numpy as np
import pytest
from mlflow.exceptions import MlflowException

from conftest import unique


@pytest.fixture
def data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return X, y


def test_sklearn_log_register_alias_load(client, api, exp_id, data):
    from sklearn.linear_model import LogisticRegression

    X, y = data
    name = unique("churn")
    mlflow.set_experiment(experiment_id=exp_id)
    with mlflow.start_run() as run:
        mlflow.log_params({"C": 0.5, "max_iter": 200})
        model = LogisticRegression(C=0.5, max_iter=200).fit(X, y)
        mlflow.log_metric("train_acc", model.score(X, y))
        info = mlflow.sklearn.log_model(model, name="model", registered_model_name=name, input_example=X[:2])
    assert info.registered_model_version == "1"
    assert info.model_id.startswith("m-")
    lm = client.get_logged_model(info.model_id)
    assert lm.status == "READY" and lm.source_run_id == run.info.run_id and lm.name == "model"
    assert lm.params["C"] == "0.5"
    assert json.loads(lm.tags["mlflow.modelVersions"]) == [{"name": name, "version": 1}] or "mlflow.modelVersions" in lm.tags
    assert lm.artifact_location == f"mlflow-artifacts:/{exp_id}/models/{info.model_id}/artifacts"

    mv = client.get_model_version(name, "1")
    assert mv.status == "READY" and mv.run_id == run.info.run_id
    assert mv.source == f"models:/{info.model_id}"
    assert client.get_model_version_download_uri(name, "1") == lm.artifact_location

    client.set_registered_model_alias(name, "champion", "1")
    assert client.get_model_version_by_alias(name, "champion").version == "1"
    loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert len(set(model.predict(X))) == 2
    sk = mlflow.sklearn.load_model(f"models:/{name}/1")
    np.testing.assert_array_equal(sk.predict_proba(X), model.predict_proba(X))
    by_run = mlflow.sklearn.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_array_equal(by_run.predict(X), model.predict(X))
    r = client.get_run(run.info.run_id)
    assert [o.model_id for o in r.outputs.model_outputs] == [info.model_id]
    # The logged model's own artifact listing and file download (UI routes).
    listing = api("GET", f"logged-models/{info.model_id}/artifacts/directories").json()
    assert listing["root_uri"] == lm.artifact_location
    files = {f["path"]: f for f in listing["files"]}
    assert not files["MLmodel"]["is_dir"] and files["MLmodel"]["file_size"] > 0
    mlmodel = api("GET", f"/ajax-api/2.0/mlflow/logged-models/{info.model_id}/artifacts/files",
                  params={"artifact_file_path": "MLmodel"})
    assert mlmodel.status_code == 200 and b"sklearn" in mlmodel.content
    assert api("GET", "/model-versions/get-artifact", params={"name": name, "version": "1", "path": "MLmodel"}).content == mlmodel.content
    # Metrics logged in the run at the model's step are linked to the model.
    assert {m.key for m in client.get_logged_model(info.model_id).metrics} >= {"train_acc"}


def test_logged_models_api(client, exp_id):
    rid = client.create_run(exp_id).info.run_id
    m = client.create_logged_model(exp_id, name="lm", source_run_id=rid, params={"alpha": "0.5"}, tags={"t": "1"},
                                   model_type="regressor")
    assert m.status == "PENDING" and m.model_id.startswith("m-")
    client.log_model_params(m.model_id, {"beta": "2"})
    client.set_logged_model_tags(m.model_id, {"u": "2"})
    client.delete_logged_model_tag(m.model_id, "t")
    client.finalize_logged_model(m.model_id, "READY")
    got = client.get_logged_model(m.model_id)
    assert got.status == "READY" and got.params == {"alpha": "0.5", "beta": "2"} and got.tags == {"u": "2"}
    found = client.search_logged_models([exp_id], filter_string="name = 'lm' AND params.alpha = '0.5'")
    assert [x.model_id for x in found] == [m.model_id]
    assert client.search_logged_models([exp_id], filter_string="name = 'other'") == []
    client.delete_logged_model(m.model_id)
    with pytest.raises(MlflowException) as e:
        client.get_logged_model(m.model_id)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_registry_lifecycle(client, exp_id, tmp_path):
    name = unique("reg")
    rm = client.create_registered_model(name, tags={"num": 12345}, description="")
    assert rm.name == name and rm.description == "" and rm.latest_versions == []
    assert rm.tags == {"num": "12345"}
    with pytest.raises(MlflowException) as e:
        client.create_registered_model(name)
    assert e.value.error_code == "RESOURCE_ALREADY_EXISTS"
    client.update_registered_model(name, description="churn model")
    client.set_registered_model_tag(name, "owner", "ds")
    client.delete_registered_model_tag(name, "num")
    assert client.get_registered_model(name).tags == {"owner": "ds"}

    rid = client.create_run(exp_id).info.run_id
    (tmp_path / "MLmodel").write_text("artifact_path: m\n")
    client.log_artifact(rid, str(tmp_path / "MLmodel"), "m")
    v1 = client.create_model_version(name, f"runs:/{rid}/m", rid, tags={"k": "v"}, description="first")
    v2 = client.create_model_version(name, f"runs:/{rid}/m", rid)
    assert (v1.version, v2.version, v1.status) == ("1", "2", "READY")
    assert client.get_model_version_download_uri(name, "1") == f"mlflow-artifacts:/{exp_id}/{rid}/artifacts/m"
    assert client.get_model_version(name, "1").tags == {"k": "v"}
    client.update_model_version(name, "2", description="second")
    client.set_model_version_tag(name, "2", "x", "y")
    client.delete_model_version_tag(name, "2", "x")
    assert client.get_model_version(name, "2").description == "second"

    client.set_registered_model_alias(name, "champion", "1")
    client.set_registered_model_alias(name, "challenger", "2")
    client.set_registered_model_alias(name, "champion", "2")
    rm = client.get_registered_model(name)
    assert rm.aliases == {"champion": "2", "challenger": "2"}
    assert sorted(client.get_model_version(name, "2").aliases) == ["challenger", "champion"]
    client.delete_registered_model_alias(name, "challenger")
    for bad in ("latest", "LATEST", "v1", "has space"):
        with pytest.raises(MlflowException) as e:
            client.set_registered_model_alias(name, bad, "1")
        assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as e:
        client.get_model_version_by_alias(name, "nope")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE" and e.value.get_http_status_code() == 400

    # Deprecated stages are still answered.
    with pytest.warns(FutureWarning):
        client.transition_model_version_stage(name, "1", "Production")
    with pytest.warns(FutureWarning):
        latest = client.get_latest_versions(name, stages=["Production"])
    assert [v.version for v in latest] == ["1"]
    with pytest.warns(FutureWarning):
        client.transition_model_version_stage(name, "2", "Production", archive_existing_versions=True)
    assert client.get_model_version(name, "1").current_stage == "Archived"
    assert mlflow.artifacts.load_text(f"models:/{name}/Production/MLmodel") == "artifact_path: m\n"

    versions = client.search_model_versions(f"name = '{name}'")
    assert [v.version for v in versions] == ["2", "1"]
    assert [v.version for v in client.search_model_versions(f"name = '{name}'", order_by=["version_number ASC"])] == ["1", "2"]
    assert [v.version for v in client.search_model_versions(f"run_id = '{rid}' and name = '{name}'")] == ["2", "1"]

    client.rename_registered_model(name, name + "-new")
    with pytest.raises(MlflowException) as e:
        client.get_registered_model(name)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_model_version_by_alias(name + "-new", "champion").version == "2"
    client.delete_model_version(name + "-new", "1")
    with pytest.raises(MlflowException):
        client.get_model_version(name + "-new", "1")
    client.delete_registered_model(name + "-new")
    client.create_registered_model(name + "-new")  # delete then re-create works


def test_search_registered_models(client):
    prefix = unique("srm")
    for i in range(9):
        client.create_registered_model(f"{prefix}-{i:02d}", tags={"grp": "odd" if i % 2 else "even"})
    for page_size in (1, 4, 100):
        seen, token = [], None
        while True:
            page = client.search_registered_models(f"name LIKE '{prefix}%'", max_results=page_size, page_token=token)
            seen += [m.name for m in page]
            token = page.token
            if not token:
                break
        assert seen == [f"{prefix}-{i:02d}" for i in range(9)], page_size
    odd = client.search_registered_models(f"name ILIKE '{prefix.upper()}%' AND tags.grp = 'odd'", order_by=["name DESC"])
    assert [m.name for m in odd] == [f"{prefix}-{i:02d}" for i in (7, 5, 3, 1)]


def test_registry_errors(client, api):
    with pytest.raises(MlflowException) as e:
        client.get_registered_model(unique("missing"))
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST" and e.value.get_http_status_code() == 404
    name = unique("err")
    client.create_registered_model(name)
    for src in ("../../etc", "mlflow-artifacts:/0/..%2f..%2fx", "s3://b/a/../../x", "x%00y"):
        r = api("POST", "model-versions/create", json={"name": name, "source": src})
        assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE", src
    # models:/<model_id> only with the matching model_id (MLflow 3.17); an unknown model is then 404.
    missing = "m-0123456789abcdef0123456789abcdef"
    for extra in ({}, {"model_id": "m-other"}):
        r = api("POST", "model-versions/create", json={"name": name, "source": f"models:/{missing}", **extra})
        assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE", extra
        assert "model_id request parameter" in r.json()["message"]
    r = api("POST", "model-versions/create", json={"name": name, "source": f"models:/{missing}", "model_id": missing})
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    for src in ("/tmp/model", "file:///tmp/model", "relative/dir"):
        r = api("POST", "model-versions/create", json={"name": name, "source": src})
        assert r.status_code == 400 and "local path" in r.json()["message"], src
    exp = api("POST", "experiments/create", json={"name": unique("src")}).json()["experiment_id"]
    rid = api("POST", "runs/create", json={"experiment_id": exp}).json()["run"]["info"]["run_id"]
    r = api("POST", "model-versions/create", json={"name": name, "source": "mlflow-artifacts:/0/other/artifacts/m", "run_id": rid})
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    r = api("POST", "model-versions/create", json={"name": name, "source": f"mlflow-artifacts:/{exp}/{rid}/artifacts/m", "run_id": rid})
    assert r.status_code == 200 and r.json()["model_version"]["run_id"] == rid
    r = api("POST", "model-versions/create", json={"name": name, "source": "mlflow-artifacts:/models///"})
    assert r.status_code == 200
    r = api("GET", "model-versions/get", params={"name": name, "version": "7"})
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    r = api("GET", "model-versions/get", params={"name": name, "version": "x"})
    assert r.status_code == 400
    r = api("DELETE", "registered-models/delete", data="{oops", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    r = api("GET", "registered-models/search", params={"filter": "name = 'a' OR name = 'b'"})
    assert r.status_code == 400 and "position" in r.json()["message"]


def test_copy_model_version(client, exp_id, tmp_path):
    rid = client.create_run(exp_id).info.run_id
    (tmp_path / "MLmodel").write_text("artifact_path: m\n")
    client.log_artifact(rid, str(tmp_path / "MLmodel"), "m")
    src, dst = unique("staging"), unique("prod")
    client.create_registered_model(src)
    v = client.create_model_version(src, f"runs:/{rid}/m", rid, tags={"team": "ds"}, description="trained")
    client.set_registered_model_alias(src, "champion", v.version)

    copy = client.copy_model_version(f"models:/{src}/{v.version}", dst)
    assert (copy.name, copy.version, copy.source, copy.run_id) == (dst, "1", f"models:/{src}/1", rid)
    assert copy.tags == {"team": "ds"} and copy.description == "trained"
    assert client.get_model_version_download_uri(dst, "1") == client.get_model_version_download_uri(src, v.version)
    assert mlflow.artifacts.load_text(f"models:/{dst}/1/MLmodel") == "artifact_path: m\n"
    by_alias = client.copy_model_version(f"models:/{src}@champion", dst)
    assert (by_alias.version, by_alias.source) == ("2", f"models:/{src}/1")
    with pytest.raises(MlflowException):
        client.copy_model_version(f"models:/{src}/9", dst)
    assert [m.version for m in client.search_model_versions(f"name = '{dst}'")] == ["2", "1"]


def test_register_prompt(client):
    name = unique("greet")
    p1 = mlflow.genai.register_prompt(name=name, template="Hello {{name}}", commit_message="first")
    p2 = mlflow.genai.register_prompt(name=name, template="Hi {{name}}!", tags={"lang": "en"})
    assert (p1.version, p2.version) == (1, 2)
    assert mlflow.genai.load_prompt(f"prompts:/{name}/1").format(name="Ann") == "Hello Ann"
    mlflow.genai.set_prompt_alias(name, "prod", 2)
    assert mlflow.genai.load_prompt(f"prompts:/{name}@prod").template == "Hi {{name}}!"
    assert name in [p.name for p in mlflow.genai.search_prompts(f"name = '{name}'")]
    # Prompts are not models: they are neither listed as models nor usable as model sources.
    assert name not in [m.name for m in client.search_registered_models()]
    dst = unique("dst")
    client.create_registered_model(dst)
    with pytest.raises(MlflowException) as e:
        client.create_model_version(dst, f"models:/{name}/1")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"

    # A prompt whose first version is refused leaves nothing behind.
    bad = unique("toolong")
    with pytest.raises(MlflowException) as e:
        mlflow.genai.register_prompt(name=bad, template="x" * 100001)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as e:
        client.get_registered_model(bad)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
