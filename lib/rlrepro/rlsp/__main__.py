"""One tabular RLSP run on a gridworld, like the original code's ``src/run.py -i rlsp``:

    python -m rlrepro.rlsp apples [--uniform-initial] [--seed 0] [--horizon 11] ...

RLSP infers theta from the problem's observed state s_0; the robot then plans optimally from s_0
for ``--evaluation-horizon`` steps with r_spec + theta (the original's ``-c additive``). Prints
theta and the fraction of the maximum true reward. The defaults are the paper's settings (those
of ``rl.rlsp``); the experiment's own settings are in params.yaml.
"""
import argparse

import numpy as np

from rlrepro.envs.gridworlds import PROBLEMS, tabular_model
from rlrepro.rlsp import tabular as rl


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m rlrepro.rlsp",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("problem", choices=PROBLEMS)
    parser.add_argument("--horizon", type=int,
                        help="steps T the human acted for (default: the problem's)")
    parser.add_argument("--evaluation-horizon", type=int, default=20)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=50, help="maximum gradient steps")
    parser.add_argument("--prior", choices=("gaussian", "laplace", "uniform"), default="gaussian")
    parser.add_argument("--prior-std", type=float, default=0.5)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--uniform-initial", action="store_true",
                        help="uniform p(s_-T) instead of the known s_-T")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    model = tabular_model(args.problem)
    result = rl.rlsp(model, args.horizon or model.problem.horizon,
                     prior=rl.Prior(args.prior, args.prior_std),
                     uniform_initial=args.uniform_initial, temperature=args.temperature,
                     learning_rate=args.learning_rate, epochs=args.epochs, seed=args.seed)
    reward = model.features @ (model.problem.r_spec + result.theta)
    fraction = rl.fraction_of_max_true_reward(model, reward, args.evaluation_horizon)
    print(f"theta ({len(result.trace)} epochs): {np.array2string(result.theta, precision=4)}")
    print(f"fraction of the maximum true reward: {fraction:.4f}")


if __name__ == "__main__":
    main()
