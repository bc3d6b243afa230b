"""`strata runs list|show` and `strata models list|show` read what the mlflow client logged."""
import json

import mlflow

from conftest import unique


def test_runs_and_models_cli(server, client):
    exp_name = unique("cli")
    exp = client.create_experiment(exp_name)
    mlflow.set_experiment(experiment_id=exp)
    with mlflow.start_run(run_name="good") as good:
        mlflow.log_params({"model": "rf"})
        mlflow.log_metric("auc", 0.91)
    with mlflow.start_run(run_name="bad"):
        mlflow.log_metric("auc", 0.55)

    rc, out, err = server.cli("runs", "list", "--experiment", exp_name, "--filter", "metrics.auc > 0.8", "-o", "json")
    assert rc == 0, err
    runs = json.loads(out)
    assert [r["info"]["run_name"] for r in runs] == ["good"]
    assert runs[0]["data"]["metrics"][0]["value"] == 0.91
    rc, out, err = server.cli("runs", "list", "--experiment", exp, "--order-by", "metrics.auc DESC")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["RUN", "ID", "NAME"] and "good" in lines[1] and "bad" in lines[2]
    rc, out, err = server.cli("runs", "show", good.info.run_id)
    assert rc == 0 and "auc" in out and "0.91" in out and "model" in out, err
    rc, out, err = server.cli("runs", "show", "0123456789abcdef0123456789abcdef")
    assert rc != 0 and "not found" in err

    name = unique("clim")
    client.create_registered_model(name, description="churn")
    client.create_model_version(name, f"runs:/{good.info.run_id}/model", good.info.run_id)
    client.set_registered_model_alias(name, "champion", "1")
    rc, out, err = server.cli("models", "list", "--filter", f"name = '{name}'")
    assert rc == 0, err
    assert name in out and "champion→v1" in out
    rc, out, err = server.cli("models", "show", name, "-o", "json")
    assert rc == 0, err
    shown = json.loads(out)
    assert shown["registered_model"]["aliases"] == [{"alias": "champion", "version": "1"}]
    assert [v["version"] for v in shown["model_versions"]] == ["1"]
    assert shown["model_versions"][0]["run_id"] == good.info.run_id
