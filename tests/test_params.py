"""params.yaml loading: every profile validates; bad values name the key and the expectation."""
import dataclasses
import pathlib
import re
import subprocess
import sys

import pytest
import yaml

from rlrepro.params import (PROFILES, ParamsError, experiments, for_task, load,
                            notebook_setup, schema_of)
from rlrepro.experiments.gridworld_rlsp import Config


@pytest.mark.parametrize("section", experiments())
@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_of_every_section_validates(section, profile):
    """Even the `paper` profile nobody runs here must at least be valid."""
    assert load(section, schema_of(section), profile)


def test_check_command_names_every_bad_key_and_touches_no_output(tmp_path):
    root = pathlib.Path(__file__).resolve().parents[1]
    text = (root / "params.yaml").read_text()
    bad = re.sub(r"\n    seeds: \d+\n", "\n    seeds: 0\n", text).replace("cpu: {workers: 2,",
                                                                     "cpu: {workers: two,")
    (tmp_path / "params.yaml").write_text(bad)
    figure = tmp_path / "data" / "figures" / "gridworld_rlsp" / "results_table.png"
    figure.parent.mkdir(parents=True)
    figure.write_bytes(b"an earlier result")
    checked = subprocess.run([sys.executable, "-m", "rlrepro", "check"], cwd=tmp_path,
                             capture_output=True, text=True)
    assert checked.returncode == 1
    assert "Traceback" not in checked.stderr
    for section in experiments():  # every problem of every section, each named
        block = checked.stderr.split(f"[{section}.cpu]:\n")[1].split("\n\n")[0]
        assert "'seeds': expected a value >= 1, got 0" in block
        assert "'workers': expected int, got str 'two'" in block  # the execution section's
    assert figure.read_bytes() == b"an earlier result"
    (tmp_path / "params.yaml").write_text(text)
    checked = subprocess.run([sys.executable, "-m", "rlrepro", "check", "--all-profiles"],
                             cwd=tmp_path, capture_output=True, text=True)
    assert checked.returncode == 0
    assert "valid for the smoke, cpu and paper profiles" in checked.stdout  # what it checked


@pytest.mark.parametrize("override, message", [
    ({"seeds": 0}, "'seeds': expected a value >= 1, got 0"),
    ({"seeds": 1.5}, "'seeds': expected int, got float 1.5"),
    ({"prior_std": "big"}, "'prior_std': expected float, got str 'big'"),
    ({"problems": ["kitchen"]}, "'problems[0]': expected one of"),
    ({"prior": "cauchy"}, "'prior': expected one of ['gaussian', 'laplace', 'uniform']"),
    ({"learnin_rate": 0.1}, "'learnin_rate': unknown parameter"),
    ({"mcmc_burn_in": 10**6}, "'mcmc_burn_in': expected fewer than mcmc_samples"),
    ({"std_sweep_horizons": {"room": 0}}, "'std_sweep_horizons.room': expected a value >= 1"),
    ({"methods": []}, "'methods': expected a non-empty list"),
])
def test_bad_values_name_the_key(override, message):
    with pytest.raises(ParamsError) as error:
        load("gridworld_rlsp", Config, "smoke", override)
    assert message in str(error.value)


def test_missing_key_unknown_profile_and_missing_file(tmp_path):
    (tmp_path / "params.yaml").write_text(
        "profile: cpu\ngridworld_rlsp:\n  paper: {seeds: 1}\n  cpu: {}\n  smoke: {}\n")
    with pytest.raises(ParamsError, match="'problems': missing"):
        load("gridworld_rlsp", Config, path=tmp_path / "params.yaml")
    with pytest.raises(ParamsError, match="'profile': expected one of"):
        load("gridworld_rlsp", Config, "gpu", path=tmp_path / "params.yaml")
    (tmp_path / "params.yaml").write_text("profile: cpu\ngridworld_rlsp:\n  paper: {seeds: 1}\n")
    with pytest.raises(ParamsError, match="has no profile 'smoke'"):
        load("gridworld_rlsp", Config, "paper", path=tmp_path / "params.yaml")
    (tmp_path / "params.yaml").write_text("profile: [cpu\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load("gridworld_rlsp", Config, path=tmp_path / "params.yaml")


def overlay_file(tmp_path, cpu: str, smoke: str = "{why: tests}"):
    """params.yaml with the real gridworld paper base and the given cpu and smoke overlays."""
    root = pathlib.Path(__file__).resolve().parents[1]
    document = yaml.safe_load((root / "params.yaml").read_text())
    text = yaml.safe_dump({"profile": "cpu", "execution": document["execution"],
                           "gridworld_rlsp": {"paper": document["gridworld_rlsp"]["paper"],
                                              "cpu": yaml.safe_load(cpu),
                                              "smoke": yaml.safe_load(smoke)}})
    (tmp_path / "params.yaml").write_text(text)
    return tmp_path / "params.yaml"


def test_profiles_are_overlays_on_paper_each_key_with_its_reason(tmp_path):
    path = overlay_file(tmp_path, "{seeds: 2, epochs: 7, why: {seeds: two, epochs: fewer}}",
                        "{seeds: 1, why: tests}")
    paper, cpu, smoke = (load("gridworld_rlsp", Config, p, path=path) for p in ("paper", "cpu", "smoke"))
    assert (paper.seeds, cpu.seeds, smoke.seeds) == (5, 2, 1)
    assert (paper.epochs, cpu.epochs, smoke.epochs) == (50, 7, 7)  # smoke overlays cpu
    assert cpu.mcmc_samples == paper.mcmc_samples  # what an overlay does not list is paper's
    for cpu, message in [
        ("{seeds: 2, epochs: 7, why: {seeds: two}}", "[gridworld_rlsp.cpu] 'why.epochs': no reason"),
        ("{seeds: 2, why: {seeds: two, epochs: x}}", "'why.epochs': a reason for a key this profile does not change"),
        ("{seeds: 2}", "[gridworld_rlsp.cpu] 'why': expected the reason for each changed key (seeds)"),
        ("{seeds: 2, why: {seeds: ''}}", "'why.seeds': expected a one-line reason"),
    ]:
        with pytest.raises(ParamsError) as error:
            load("gridworld_rlsp", Config, "cpu", path=overlay_file(tmp_path, cpu))
        assert message in str(error.value)


def test_a_nested_setting_is_overlaid_key_by_key():
    from rlrepro.experiments.latent_dynamics import Config as LatentConfig

    paper, cpu = (load("latent_dynamics", LatentConfig, p) for p in ("paper", "cpu"))
    cpu_section = yaml.safe_load((pathlib.Path(__file__).resolve().parents[1] / "params.yaml")
                                 .read_text())["latent_dynamics"]["cpu"]
    assert "gamma" not in cpu_section["dreamer"] and "horizon" in cpu_section["dreamer"]
    assert cpu.dreamer.gamma == paper.dreamer.gamma
    assert cpu.dreamer.horizon == cpu_section["dreamer"]["horizon"] != paper.dreamer.horizon


@pytest.mark.parametrize("section", experiments())
def test_the_deviation_table_lists_every_change_of_the_cpu_overlay_with_its_reason(section):
    """Complete by construction: every setting the cpu overlay changes, not operational,
    is a row with the overlay's reason; nothing else is (a task's own values are rows of
    their own, '<key> (<task>)')."""
    root = pathlib.Path(__file__).resolve().parents[1]
    overlay = yaml.safe_load((root / "params.yaml").read_text())[section]["cpu"]
    setup = notebook_setup(section, "cpu")
    schema = schema_of(section)
    paper = load(section, schema, "paper")
    fields = {f.name: f for f in dataclasses.fields(schema)}

    def plain(value):
        return list(value) if isinstance(value, (list, tuple)) else value

    expected = set()
    for key, value in overlay.items():
        if key in ("why", "task_settings") or fields[key].metadata.get("operational"):
            continue
        theirs = getattr(paper, key)
        if isinstance(value, dict) and dataclasses.is_dataclass(theirs):
            nested = {f.name: f for f in dataclasses.fields(theirs)}
            expected |= {f"{key}.{k}" for k, v in value.items() if plain(getattr(theirs, k)) != v
                         and not nested[k].metadata.get("operational")}
        elif isinstance(value, dict):
            if any(theirs.get(k) != v for k, v in value.items()):
                expected.add(key)
        elif plain(value) != plain(theirs):
            expected.add(key)
    rows = [r for r in setup.deviations() if r["setting"].split(".")[0] in fields]
    general = [r for r in rows if "(" not in r["setting"]]
    assert {r["setting"] for r in general} == expected
    for row in general:
        reason = overlay["why"].get(row["setting"]) or overlay["why"].get(row["setting"].split(".")[0])
        assert row["why"] == reason, row
    for row in rows:
        if "(" in row["setting"]:  # a task's own value
            assert row["why"] == overlay["why"]["task_settings"], row


def test_the_execution_section_is_every_sections_base_for_operational_keys(tmp_path):
    from rlrepro.experiments.gail_baseline import Config as GAILConfig

    root = pathlib.Path(__file__).resolve().parents[1]
    shared = yaml.safe_load((root / "params.yaml").read_text())["execution"]
    assert load("gridworld_rlsp", Config, "cpu").workers == shared["cpu"]["workers"]
    gail = load("gail_baseline", GAILConfig, "paper").launcher
    assert gail.time_minutes == 600  # its section's own value ...
    assert gail.cpus_per_task == shared["paper"]["launcher"]["cpus_per_task"]  # ... over these
    path = overlay_file(tmp_path, "{why: tests}")
    document = yaml.safe_load(path.read_text())
    document["execution"]["cpu"]["seeds"] = 1  # a setting of the papers: not shared silently
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(ParamsError, match=re.escape("[execution.cpu] 'seeds': not an operational "
                                                    "key of gridworld_rlsp")):
        load("gridworld_rlsp", Config, "cpu", path=path)
    document["execution"]["cpu"]["wrkers"] = document["execution"]["cpu"].pop("seeds")
    path.write_text(yaml.safe_dump(document))
    checked = subprocess.run([sys.executable, "-m", "rlrepro", "check"], cwd=tmp_path,
                             capture_output=True, text=True)
    assert "[execution.cpu] 'wrkers': no experiment has this key" in checked.stderr


def test_keys_an_experiment_sets_for_each_run_are_rejected_by_name():
    from rlrepro.experiments.recurrent_offpolicy import Config as RecurrentConfig

    for override, key in [({"agent": {"algorithm": "td3"}}, "agent.algorithm"),
                          ({"train": {"env": "pendulum"}}, "train.env"),
                          ({"task_settings": {"pendulum_p": {"train": {"concat": 3}}}},
                           "task_settings.pendulum_p.train.concat")]:
        with pytest.raises(ParamsError, match=re.escape(f"'{key}': set for each run by the "
                                                        f"experiment, not here")):
            load("recurrent_offpolicy", RecurrentConfig, "smoke", override)


def test_a_task_sets_its_own_values_key_by_key():
    from rlrepro.experiments.mujoco_rlsp import Config as RLSPConfig

    cfg = load("mujoco_rlsp", RLSPConfig, "paper")
    pendulum, cheetah = for_task(cfg, "inverted_pendulum"), for_task(cfg, "cheetah_fw")
    assert pendulum.sac.hidden == (64, 64) and pendulum.sac.gamma == 0.99
    assert cheetah.sac.hidden == (256, 256) and cheetah.sac.gamma == 0.98
    assert pendulum.rlsp.reset_solver and not cheetah.rlsp.reset_solver
    assert pendulum.rlsp.horizons == cheetah.rlsp.horizons == tuple(range(1, 31))
    with pytest.raises(ParamsError) as error:
        load("mujoco_rlsp", RLSPConfig, "smoke",
             {"task_settings": {"hopper": {"sac": {"hiden": [8]}, "seeds": 0}}})
    assert "'task_settings.hopper.sac.hiden': unknown parameter" in str(error.value)
    assert "'task_settings.hopper.seeds': expected a value >= 1" in str(error.value)


def stage_copy(tmp_path, notebook):
    """The files a stage reads: params.yaml, references/ and the notebook's source."""
    root = pathlib.Path(__file__).resolve().parents[1]
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / f"{notebook}.py").write_text(
        (root / "notebooks" / f"{notebook}.py").read_text())
    (tmp_path / "params.yaml").write_text((root / "params.yaml").read_text())
    (tmp_path / "references").mkdir()
    for ref in (root / "references").glob("*.yaml"):
        (tmp_path / "references" / ref.name).write_text(ref.read_text())
    return tmp_path


def run_stage(folder, notebook, profile):
    return subprocess.run([sys.executable, "-m", "rlrepro", "run", notebook, "-p",
                           f"profile={profile}"], cwd=folder, capture_output=True, text=True)


def test_a_stage_with_a_bad_value_ends_with_the_named_problem(tmp_path):
    folder = stage_copy(tmp_path, "gridworld_rlsp")
    params_file = folder / "params.yaml"
    params_file.write_text(params_file.read_text().replace("    seeds: 2\n", "    seeds: 0\n", 1))
    stage = run_stage(folder, "gridworld_rlsp", "smoke")
    assert stage.returncode == 1
    assert "[gridworld_rlsp.smoke]:\n  'seeds': expected a value >= 1, got 0" in stage.stderr
    assert stage.stderr.strip().endswith("gridworld_rlsp did not run; nothing was removed.")
    assert not (folder / "data" / "notebooks" / "gridworld_rlsp.ipynb").exists()


@pytest.mark.parametrize("section, key, value, message", [
    ("mujoco_rlsp", "n_states", "[1, 2]", "'n_states': 2 is not in "
                                         "mujoco_experts.observed_states [1, 3]"),
    ("gail_baseline", "seeds", "9", "'seeds': 9, more than mujoco_experts.demonstration_seeds: 2"),
])
def test_a_value_another_stage_cannot_serve_is_named_by_check(tmp_path, section, key, value,
                                                              message):
    """check validates across sections: a value that needs a file another stage does not make
    fails there, not in the stage after its outputs are gone."""
    root = pathlib.Path(__file__).resolve().parents[1]
    text = (root / "params.yaml").read_text()
    start = text.index("\n  smoke:\n", text.index(f"\n{section}:"))
    end = text.index("\n\n", start)
    smoke = re.sub(rf"\n    {key}: [^\n]*", "", text[start:end])  # the overlay without the key
    smoke = smoke.replace("\n  smoke:", f"\n  smoke:\n    {key}: {value}", 1)
    bad = text[:start] + smoke + text[end:]
    (tmp_path / "params.yaml").write_text(bad.replace("\nprofile: cpu\n", "\nprofile: smoke\n"))
    checked = subprocess.run([sys.executable, "-m", "rlrepro", "check"], cwd=tmp_path,
                             capture_output=True, text=True)
    assert checked.returncode == 1, checked.stdout
    assert f"[{section}.smoke]:\n  {message}" in checked.stderr


def test_a_corrupt_checkpoint_met_inside_a_stage_ends_with_the_file_and_the_fix(tmp_path):
    folder = stage_copy(tmp_path, "recurrent_offpolicy")
    run = folder / "data/policies/recurrent_offpolicy/smoke/pendulum_p/rsac/seed0"
    run.mkdir(parents=True)
    (run / "checkpoint.pt").write_bytes(b"half a checkpoint")
    stage = run_stage(folder, "recurrent_offpolicy", "smoke")
    assert stage.returncode == 1
    last = stage.stderr.strip().splitlines()[-1]
    assert last.startswith("CheckpointError: ") and str(run / "checkpoint.pt") in last
    assert last.endswith("delete it to start this run again")
