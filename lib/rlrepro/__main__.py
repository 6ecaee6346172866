"""Command line: ``python -m rlrepro check``, ``run <notebook>`` and ``stages``.

``check`` validates every experiment's parameters before ``dvc repro`` touches any output
(``make repro`` runs it first). ``run`` executes a notebook's tracked source
(``notebooks/<name>.py``) with papermill, as the DVC stages do, and ends a failure with the
notebook's error message (which names the bad file or key and the fix) instead of a long
traceback; the processes it starts (the kernel, the training workers) end with it, and it
with its parent (``rlrepro.lifetime``). ``stages`` writes ``dvc.yaml`` from the experiments
(``rlrepro.pipeline``); ``stages --check`` says whether it is current.
"""
from __future__ import annotations

import argparse
import os
import sys

from rlrepro import lifetime, params, runs


def check(args) -> int:
    try:
        profiles = (list(params.PROFILES) if args.all_profiles
                    else [args.profile or params.active_profile()])
    except params.ParamsError as error:
        profiles, problems = [], [str(error)]
    else:
        problems = params.check_all(profiles)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print("\nFix the values above in params.yaml; nothing was run or removed.", file=sys.stderr)
        return 1
    names = " and ".join([", ".join(profiles[:-1]), profiles[-1]] if len(profiles) > 1 else profiles)
    print(f"params.yaml: every section is valid for the {names} profile"
          f"{'s' if len(profiles) > 1 else ''}")
    return 0


def run(args) -> int:
    import logging

    import jupytext
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    logging.basicConfig(level=logging.INFO, format="%(message)s")  # papermill logs cell output
    os.environ[lifetime.STAGE_VARIABLE] = "1"  # the kernel and its workers end with this run
    lifetime.die_with_parent()  # and this run with whatever started it (dvc)

    root = params.find_params_file().parent
    source = root / "notebooks" / f"{args.notebook}.py"
    if not source.is_file():
        names = sorted(p.stem for p in (root / "notebooks").glob("*.py"))
        print(f"{source}: no such notebook; expected one of {names}", file=sys.stderr)
        return 1
    output = root / "data" / "notebooks" / f"{args.notebook}.ipynb"
    values = dict(pair.split("=", 1) for pair in args.parameter)
    # Every section for this profile, before anything is touched: the stage's outputs persist
    # (dvc.yaml), so a bad value leaves the last run's results in place.
    try:
        problems = params.check_all([values.get("profile") or params.active_profile()])
    except params.ParamsError as error:
        problems = [str(error)]
    if problems:
        print("\n".join(problems) + f"\n\n{args.notebook} did not run; nothing was removed.",
              file=sys.stderr)
        return 1
    output.parent.mkdir(parents=True, exist_ok=True)
    record = runs.run_record(root)
    try:
        papermill.execute_notebook(jupytext.read(source), str(output), parameters=values,
                                   kernel_name="python3", language="python", cwd=str(root),
                                   log_output=True, progress_bar=False)
    except PapermillExecutionError as error:
        print(f"\n{args.notebook} stopped in cell {error.cell_index + 1} (executed notebook: "
              f"{output}):\n{error.ename}: {error.evalue}", file=sys.stderr)
        return 1
    executed = nbformat.read(output, as_version=4)
    executed.metadata[runs.RUN_RECORD] = record  # its results page names code and machine
    nbformat.write(executed, output)
    return 0


def stages(args) -> int:
    from rlrepro import pipeline

    path = pipeline.ROOT / "dvc.yaml"
    text = pipeline.render()
    if args.check:
        if path.read_text() != text:
            print(f"{path} is not what `python -m rlrepro stages` derives from the experiments; "
                  f"run it and commit the result", file=sys.stderr)
            return 1
        return 0
    path.write_text(text)
    print(f"wrote {path}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rlrepro", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    checking = commands.add_parser("check", help="validate params.yaml")
    checking.add_argument("--profile", choices=params.PROFILES, help="default: `profile:`")
    checking.add_argument("--all-profiles", action="store_true", help="smoke, cpu and paper")
    checking.set_defaults(handler=check)
    running = commands.add_parser("run", help="execute notebooks/<name>.py into data/notebooks/")
    running.add_argument("notebook")
    running.add_argument("-p", "--parameter", action="append", default=[], metavar="KEY=VALUE",
                         help="a notebook parameter (string value), e.g. -p profile=cpu")
    running.set_defaults(handler=run)
    deriving = commands.add_parser("stages", help="write dvc.yaml from the experiments")
    deriving.add_argument("--check", action="store_true", help="only check dvc.yaml is current")
    deriving.set_defaults(handler=stages)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
