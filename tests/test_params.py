"""params.yaml loading: every profile validates; bad values name the key and the expectation."""
import pytest

from rlrepro.params import PROFILES, ParamsError, load
from rlrepro.rlsp.experiment import GridworldRLSPConfig


@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_of_the_repository_validates(profile):
    cfg = load("gridworld_rlsp", GridworldRLSPConfig, profile)
    assert cfg.problems and cfg.methods


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
        load("gridworld_rlsp", GridworldRLSPConfig, "smoke", override)
    assert message in str(error.value)


def test_missing_key_unknown_profile_and_missing_file(tmp_path):
    (tmp_path / "params.yaml").write_text("profile: cpu\ngridworld_rlsp:\n  cpu: {seeds: 1}\n")
    with pytest.raises(ParamsError, match="'problems': missing"):
        load("gridworld_rlsp", GridworldRLSPConfig, path=tmp_path / "params.yaml")
    with pytest.raises(ParamsError, match="'profile': expected one of"):
        load("gridworld_rlsp", GridworldRLSPConfig, "gpu", path=tmp_path / "params.yaml")
    with pytest.raises(ParamsError, match="no profile 'paper'"):
        load("gridworld_rlsp", GridworldRLSPConfig, "paper", path=tmp_path / "params.yaml")
    (tmp_path / "params.yaml").write_text("profile: [cpu\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load("gridworld_rlsp", GridworldRLSPConfig, path=tmp_path / "params.yaml")
