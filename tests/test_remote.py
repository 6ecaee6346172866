"""Trained once, pulled everywhere: a run pushed to a DVC remote reaches a fresh clone, where
`dvc repro` retrains nothing. The remote here is a local folder; S3 or SSH differ only in the URL."""
import yaml


def run_files(repo):
    """Every finished training run of the recurrent stage (its persisted folder), by path."""
    folder = repo / "data/policies/recurrent_offpolicy"
    return {p.relative_to(repo): p for p in sorted(folder.rglob("result.json"))}


def test_a_pushed_run_pulls_into_a_fresh_clone_that_is_up_to_date(smoke_repro, shell, tmp_path):
    cluster, remote, laptop = smoke_repro, tmp_path / "remote", tmp_path / "laptop"
    stages = list(yaml.safe_load((cluster / "dvc.yaml").read_text())["stages"])
    trained = run_files(cluster)
    assert trained, "the smoke run trained no recurrent runs"

    # Where it trained: commit the lock file, push the outputs. The remote goes to the untracked
    # .dvc/config.local, so nothing tracked changes.
    shell.git("add", "-A", cwd=cluster)
    shell.git("commit", "-q", "--allow-empty", "-m", "smoke run", cwd=cluster)
    shell.dvc("remote", "add", "--local", "-d", "shared", remote, cwd=cluster)
    assert shell.git("status", "--porcelain", cwd=cluster) == ""
    shell.dvc("push", cwd=cluster)

    # Elsewhere: a fresh clone (committed dvc.lock, no outputs, empty cache) pulls.
    shell.git("clone", "-q", cluster, laptop, cwd=tmp_path)
    assert not (laptop / "data/policies/recurrent_offpolicy").exists()
    shell.dvc("remote", "add", "--local", "-d", "shared", remote, cwd=laptop)
    shell.dvc("pull", cwd=laptop)
    pulled = run_files(laptop)
    assert sorted(pulled) == sorted(trained), "the persisted run folder was not pulled whole"
    assert all(pulled[p].read_bytes() == trained[p].read_bytes() for p in trained)
    stamps = {p: f.stat().st_mtime_ns for p, f in pulled.items()}

    repro = shell.dvc("repro", cwd=laptop)
    for stage in stages:
        assert f"Stage '{stage}' didn't change, skipping" in repro, repro
    assert "Running stage" not in repro, repro
    assert "Data and pipelines are up to date." in shell.dvc("status", cwd=laptop)
    assert {p: f.stat().st_mtime_ns for p, f in run_files(laptop).items()} == stamps, \
        "a run was retrained or rewritten"
    assert shell.git("status", "--porcelain", cwd=laptop) == "", "dvc.lock or an output changed"
