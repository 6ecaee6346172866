"""Load one experiment's section of ``params.yaml`` for a profile, validate it, and say how it
deviates from the original.

A section holds three profiles (and the ``execution`` section the operational keys every
experiment shares, such as ``workers``, laid under each profile of an experiment's own). ``paper`` is the base: the original code's settings. ``cpu`` is
an overlay on ``paper`` and ``smoke`` one on ``cpu``: each lists only the keys it changes and,
under ``why``, the reason for each (a mapping from key to reason, or one reason for all). A key
typed as a dataclass (``launcher``, ``mb_sac``) is overlaid key by key, any other replaced
whole. The deviation table of a notebook (:func:`deviations`) is the difference between its
run's settings and ``paper``'s, each row with the reason its overlay gives: complete by
construction.

Every experiment declares its parameters as a dataclass whose fields carry a ``help`` text and
optional ``choices`` / ``min`` / ``max`` in their metadata (see :func:`param`). Loading checks
unknown and missing keys, types, ranges and reasons, and raises one :class:`ParamsError` that
lists every problem, naming the key (``launcher.kind``) and what was expected, before any work
starts.
"""
from __future__ import annotations

import dataclasses
import pathlib
import shutil
import typing

import yaml

PROFILES = ("smoke", "cpu", "paper")
BASE = {"paper": None, "cpu": "paper", "smoke": "cpu"}  # the profile each one overlays
WHY = "why"  # an overlay's reasons for the keys it changes
# The section of operational keys every experiment that declares them takes (processes at once,
# Slurm jobs), profile by profile, before its own section's: what the machine allows, written once.
EXECUTION = "execution"


# One name per experiment: ``notebooks/<name>.py``, the ``params.yaml`` section ``<name>``, its
# schema ``rlrepro.experiments.<name>.Config``, ``references/<name>.yaml``, the DVC stage and
# ``data/results/<name>.json`` (and its verdict counts, ``data/metrics/<name>.json``). A new experiment adds its module; nothing here changes.
EXPERIMENTS_DIR = pathlib.Path(__file__).parent / "experiments"
NOT_AN_EXPERIMENT = ("__init__", "report")  # the scorecard stage has no parameters


def experiments() -> list[str]:
    """The names of every experiment (the modules of ``rlrepro.experiments``)."""
    return sorted(p.stem for p in EXPERIMENTS_DIR.glob("*.py") if p.stem not in NOT_AN_EXPERIMENT)


class ParamsError(ValueError):
    """A parameter in params.yaml is unknown, missing, of the wrong type or out of range."""


def param(help: str, *, default=dataclasses.MISSING, choices=None, min=None, max=None,
          may_be_empty=False, operational=False, per_run=()):
    """Declare a documented parameter: a dataclass field, with or without a default. A list
    must have an item unless ``may_be_empty`` (an optional part of an experiment). An
    ``operational`` one says how a run is carried out (processes, device, checkpoints, GIFs),
    not what it computes: it is never a deviation from the original. A nested configuration's
    ``per_run`` keys are set by the experiment for each run (e.g. the algorithm of each
    method): params.yaml may not set them."""
    metadata = {"help": help, "choices": choices, "min": min, "max": max,
                "may_be_empty": may_be_empty, "operational": operational, "per_run": per_run}
    if isinstance(default, (list, dict, set)):
        if default:
            raise TypeError("param(default=...): use a tuple, mutable defaults are shared")
        return dataclasses.field(default_factory=type(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def find_params_file(start=None) -> pathlib.Path:
    """The nearest ``params.yaml`` at or above ``start`` (default: the working directory)."""
    here = pathlib.Path(start or pathlib.Path.cwd()).resolve()
    for folder in [here, *here.parents]:
        if (folder / "params.yaml").is_file():
            return folder / "params.yaml"
    raise ParamsError(f"params.yaml not found in {here} or any parent folder")


def _check(key, value, annotation, meta):
    """Return a list of error messages for one value."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    where = f"'{key}'"
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, dict):
            names = [f.name for f in dataclasses.fields(annotation)]
            return [f"{where}: expected a mapping with keys {names}, got {value!r}"]
        fixed = [f"'{key}.{k}': set for each run by the experiment, not here"
                 for k in value if k in meta.get("per_run", ())
                 and value[k] != _plain(getattr(annotation(), k))]  # a default is no change
        return fixed + _problems(annotation, value, f"{key}.")
    if origin in (list, tuple):  # a tuple[X, ...] is given as a YAML list
        if not isinstance(value, list) or not (value or meta.get("may_be_empty")):
            kind = "list" if meta.get("may_be_empty") else "non-empty list"
            return [f"{where}: expected a {kind} of {args[0].__name__}, got {value!r}"]
        return [e for i, v in enumerate(value) for e in _check(f"{key}[{i}]", v, args[0], meta)]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where}: expected a mapping of {args[0].__name__} to {args[1].__name__}, got {value!r}"]
        key_meta = {"choices": meta.get("choices")}
        value_meta = {"min": meta.get("min"), "max": meta.get("max")}
        return [e for k, v in value.items() for e in
                _check(f"{key}.{k}", k, args[0], key_meta) + _check(f"{key}.{k}", v, args[1], value_meta)]
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, annotation) or (annotation is int and isinstance(value, bool)):
        return [f"{where}: expected {annotation.__name__}, got {type(value).__name__} {value!r}"]
    if meta.get("choices") is not None and value not in meta["choices"]:
        return [f"{where}: expected one of {list(meta['choices'])}, got {value!r}"]
    if meta.get("min") is not None and value < meta["min"]:
        return [f"{where}: expected a value >= {meta['min']}, got {value!r}"]
    if meta.get("max") is not None and value > meta["max"]:
        return [f"{where}: expected a value <= {meta['max']}, got {value!r}"]
    return []


def _problems(schema, values: dict, prefix="") -> list[str]:
    """One message per unknown, missing or bad key of ``values`` (named ``prefix`` + key)."""
    hints = typing.get_type_hints(schema)
    fields = {f.name: f for f in dataclasses.fields(schema)}
    errors = [f"'{prefix}{k}': unknown parameter; expected one of {sorted(fields)}"
              for k in values if k not in fields]
    errors += [f"'{prefix}{k}': missing ({f.metadata.get('help', '')})"
               for k, f in fields.items() if k not in values
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    for k, v in values.items():
        if k in fields:
            errors += _check(prefix + k, v, hints[k], fields[k].metadata)
    return errors


def _build(schema, values: dict):
    """``schema(**values)`` of checked values: ints given for floats become floats, nested
    mappings their dataclasses."""
    hints = typing.get_type_hints(schema)

    def convert(hint, value):
        if hint is float:
            return float(value)
        if typing.get_origin(hint) is tuple:
            return tuple(value)
        return _build(hint, value) if dataclasses.is_dataclass(hint) else value

    return schema(**{k: convert(hints[k], v) for k, v in values.items()})


def validate(schema, values: dict, context: str):
    """Build ``schema(**values)`` or raise one ParamsError listing every bad key."""
    if not isinstance(values, dict):
        raise ParamsError(f"{context}: expected a mapping of parameters, got {values!r}")
    errors = _problems(schema, values)
    if errors:
        raise ParamsError(f"invalid parameters in {context}:\n  " + "\n  ".join(errors))
    config = _build(schema, values)
    if hasattr(config, "check"):
        problems = config.check()
        if problems:
            raise ParamsError(f"invalid parameters in {context}:\n  " + "\n  ".join(problems))
    return config


TASK_SETTINGS = "task_settings"  # task -> keys of the section that task alone sets


def for_task(config, task: str):
    """``config`` with ``task_settings[task]`` laid over it as an overlay (a nested setting key
    by key): the original's per-task values, e.g. the pendulum's smaller SAC."""
    settings = getattr(config, TASK_SETTINGS).get(task, {})
    values = _overlay(type(config), _plain(config), settings) | {TASK_SETTINGS: {}}
    errors = _problems(type(config), values)
    if errors:  # Config.check reports them by key (task_settings_problems) before any work
        raise ParamsError(f"invalid {TASK_SETTINGS}.{task}:\n  " + "\n  ".join(errors))
    return _build(type(config), values)


def task_settings_problems(config) -> list[str]:
    """One message per bad key of ``task_settings`` (for a ``Config.check``)."""
    schema = type(config)
    hints, fields = typing.get_type_hints(schema), {f.name: f for f in dataclasses.fields(schema)}
    errors = []
    for task, settings in getattr(config, TASK_SETTINGS).items():
        for key in settings:  # a nested setting's keys laid over the config's, so checked alone
            where = f"{TASK_SETTINGS}.{task}.{key}"
            if key not in fields or key == TASK_SETTINGS:
                errors.append(f"'{where}': not a setting a task can change; expected one of "
                              f"{sorted(set(fields) - {TASK_SETTINGS})}")
            else:
                errors += _check(where, settings[key], hints[key], fields[key].metadata)
    return errors


def _read(path):
    path = pathlib.Path(path) if path else find_params_file()
    try:
        return path, yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ParamsError(f"{path}: not valid YAML ({error})") from None


def active_profile(profile: str | None = None, path=None) -> str:
    """``profile`` if given, else the ``profile:`` of params.yaml; checked against PROFILES."""
    path, document = _read(path)
    profile = profile or document.get("profile")
    if profile not in PROFILES:
        raise ParamsError(f"'profile': expected one of {list(PROFILES)}, got {profile!r} ({path})")
    return profile


def _overlay(schema, base: dict, overlay: dict) -> dict:
    """``base`` with ``overlay``'s keys: a dataclass-typed key merged key by key."""
    hints = typing.get_type_hints(schema)
    out = dict(base)
    for key, value in overlay.items():
        nested = dataclasses.is_dataclass(hints.get(key))
        if nested and isinstance(value, dict) and isinstance(base.get(key), dict):
            value = _overlay(hints[key], base[key], value)
        out[key] = value
    return out


def _chain(profile: str) -> list[str]:
    """``paper`` first, then each overlay down to ``profile``."""
    return ([] if BASE[profile] is None else _chain(BASE[profile])) + [profile]


def _changed_keys(schema, overlay: dict, prefix="") -> list[str]:
    """The dotted keys an overlay sets (a dataclass-typed key's own keys)."""
    hints = typing.get_type_hints(schema)
    keys = []
    for key, value in overlay.items():
        if dataclasses.is_dataclass(hints.get(key)) and isinstance(value, dict):
            keys += _changed_keys(hints[key], value, f"{prefix}{key}.")
        else:
            keys.append(prefix + key)
    return keys


def _reason(why, key: str):
    """The reason ``why`` gives for a dotted key (its own, or its parent's), or None."""
    if isinstance(why, str):
        return why
    parts = key.split(".")
    for n in range(len(parts), 0, -1):
        if isinstance(why, dict) and isinstance(why.get(".".join(parts[:n])), str):
            return why[".".join(parts[:n])]
    return None


def _why_problems(schema, overlay: dict) -> list[str]:
    """Every key an overlay changes needs a one-line reason, and every reason a changed key."""
    why = overlay.get(WHY)
    keys = _changed_keys(schema, {k: v for k, v in overlay.items() if k != WHY})
    if isinstance(why, str) and why.strip():
        return []
    if not isinstance(why, dict):
        return ([f"'{WHY}': expected the reason for each changed key "
                 f"({', '.join(keys)}), as a mapping or one sentence for all"] if keys else [])
    errors = [f"'{WHY}.{key}': no reason for this change (one line: why it differs)"
              for key in keys if not _reason(why, key)]
    errors += [f"'{WHY}.{key}': a reason for a key this profile does not change"
               for key in why if not any(k == key or k.startswith(key + ".") for k in keys)]
    errors += [f"'{WHY}.{key}': expected a one-line reason, got {value!r}"
               for key, value in why.items() if not isinstance(value, str) or not value.strip()]
    return errors


def _section(document, section, path) -> dict:
    if section not in document:
        raise ParamsError(f"{path}: no section '{section}'")
    profiles = document[section]
    missing = [p for p in PROFILES if not isinstance(profiles, dict) or p not in profiles]
    if missing:
        raise ParamsError(f"{path}: section '{section}' has no profile {missing[0]!r} (each "
                          f"section has {list(PROFILES)}: paper, and overlays on it)")
    return profiles


def load(section: str, schema, profile: str | None = None, overrides: dict | None = None,
         path=None):
    """Validated parameters of ``section`` for ``profile`` (default: the file's ``profile:``):
    ``paper`` with each overlay down to the profile.

    ``overrides`` replace single keys (for papermill runs and exploration in JupyterLab).
    """
    path, document = _read(path)
    profile = active_profile(profile, path)
    profiles = _section(document, section, path)
    execution = _execution(document, path)
    fields = {f.name: f for f in dataclasses.fields(schema)}
    values, errors = {}, []
    for name in _chain(profile):
        shared = {k: v for k, v in execution[name].items() if k in fields}
        errors += [f"[{EXECUTION}.{name}] '{k}': not an operational key of {section} (a setting "
                   f"that changes results belongs in its section, with a reason)"
                   for k in shared if not fields[k].metadata.get("operational")]
        values = _overlay(schema, values, shared)
        layer = profiles[name] or {}
        if not isinstance(layer, dict):
            raise ParamsError(f"{path} [{section}.{name}]: expected a mapping of parameters, "
                              f"got {layer!r}")
        if name != "paper":
            errors += [f"[{section}.{name}] {e}" for e in _why_problems(schema, layer)]
        values = _overlay(schema, values, {k: v for k, v in layer.items() if k != WHY})
    if errors:
        raise ParamsError(f"invalid parameters in {path}:\n  " + "\n  ".join(errors))
    values = _overlay(schema, values, dict(overrides or {}))
    return validate(schema, values, f"{path} [{section}.{profile}]")


def _execution(document, path) -> dict:
    """The ``execution`` section, profile by profile (each a mapping, possibly empty)."""
    section = document.get(EXECUTION) or {}
    errors = [] if isinstance(section, dict) else [f"'{EXECUTION}': expected a mapping of "
                                                   f"profiles, got {section!r}"]
    section = section if isinstance(section, dict) else {}
    errors += [f"[{EXECUTION}] '{p}': expected a profile among {list(PROFILES)}"
               for p in section if p not in PROFILES]
    errors += [f"[{EXECUTION}.{p}]: expected a mapping of keys, got {section[p]!r}"
               for p in PROFILES if not isinstance(section.get(p) or {}, dict)]
    if errors:
        raise ParamsError(f"invalid parameters in {path}:\n  " + "\n  ".join(errors))
    return {p: section.get(p) or {} for p in PROFILES}


def schema_of(section: str):
    """The dataclass declaring ``section``'s keys: ``rlrepro.experiments.<section>.Config``."""
    import importlib

    if section not in experiments():
        raise ParamsError(f"no experiment {section!r}; expected one of {experiments()}")
    return importlib.import_module(f"rlrepro.experiments.{section}").Config


def check_all(profiles=None, path=None) -> list[str]:
    """Validate every section of params.yaml for ``profiles`` (default: the active one);
    returns one message per problem, each naming the file, section, profile and key."""
    try:
        path, document = _read(path)
        profiles = profiles or [active_profile(path=path)]
    except ParamsError as error:
        return [str(error)]
    problems = [f"{path}: unknown section {section!r}; expected some of {experiments()}"
                for section in document
                if section not in experiments() and section not in ("profile", EXECUTION)]
    declared = {f.name for section in experiments() for f in dataclasses.fields(schema_of(section))}
    try:
        problems += [f"{path} [{EXECUTION}.{p}] '{key}': no experiment has this key; expected "
                     f"some of {sorted(declared)}" for p, keys in _execution(document, path).items()
                     for key in keys if key not in declared]
    except ParamsError as error:
        problems.append(str(error))
    for profile in profiles:
        loaded = {}
        for section in experiments():
            try:
                loaded[section] = load(section, schema_of(section), profile, path=path)
            except ParamsError as error:
                problems.append(str(error))
        problems += cross_check(loaded, profile, path)
    return problems


def cross_check(loaded: dict, profile: str, path) -> list[str]:
    """The values of one section that need another's: an experiment module's ``NEEDS``
    ({other section: {our key: its key}}) names, for the sections it reads the outputs of, each
    of our values the other must make (``loaded``: section -> config of this profile). A list
    must be among the other's values; a count (int) must not exceed the other's."""
    import importlib

    problems = []
    for section, cfg in loaded.items():
        needs = getattr(importlib.import_module(f"rlrepro.experiments.{section}"), "NEEDS", {})
        for other, keys in needs.items():
            if other not in loaded:
                continue
            for key, theirs in keys.items():
                ours, made = getattr(cfg, key), getattr(loaded[other], theirs)
                if isinstance(ours, int):
                    wrong = [f"{ours}, more than {other}.{theirs}: {made}"] if ours > made else []
                else:
                    wrong = [f"{v!r} is not in {other}.{theirs} {made}" for v in ours
                             if v not in made]
                problems += [f"invalid parameters in {path} [{section}.{profile}]:\n  "
                             f"'{key}': {message}" for message in wrong]
    return problems


def describe(schema) -> str:
    """Markdown table of a schema's parameters and their help texts."""
    rows = [f"| `{f.name}` | {f.metadata.get('help', '')} |" for f in dataclasses.fields(schema)]
    return "\n".join(["| parameter | meaning |", "|---|---|", *rows])


def _plain(value):
    """A configuration value as YAML gives it (tuples as lists, dataclasses as dicts)."""
    if dataclasses.is_dataclass(value):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def differences(config, original, prefix="") -> list[tuple[str, object, object]]:
    """``(dotted key, this run's value, the original's)`` wherever a setting that is not
    operational differs; a per-task mapping is compared on the tasks this run has."""
    out = []
    for field in dataclasses.fields(config):
        if field.metadata.get("operational") or field.name == TASK_SETTINGS:  # see deviations
            continue
        ours, theirs = getattr(config, field.name), getattr(original, field.name)
        key = prefix + field.name
        if dataclasses.is_dataclass(ours):
            out += differences(ours, theirs, key + ".")
        elif isinstance(ours, dict) and isinstance(theirs, dict):
            if any(k not in theirs or _plain(theirs[k]) != _plain(v) for k, v in ours.items()):
                out.append((key, _plain(ours), {k: _plain(theirs.get(k)) for k in ours}))
        elif _plain(ours) != _plain(theirs):
            out.append((key, _plain(ours), _plain(theirs)))
    return out


def deviations(setup) -> list[dict]:
    """The rows of a notebook's table of deviations from the original: every setting of this
    run (``setup``, a :class:`NotebookSetup`) that differs from ``paper``'s, with the reason of
    the overlay that set it; then, for each task, the settings where the task's own values
    (``task_settings``) differ otherwise; then the design deviations its experiment module
    declares (``DEVIATIONS``, rows of the same columns)."""
    import importlib

    path, document = _read(setup.root / "params.yaml")
    profiles = _section(document, setup.experiment, path)
    schema = type(setup.cfg)
    original = load(setup.experiment, schema, "paper", path=path)

    def why(key):
        if key.split(".")[0] in setup.overrides:
            return "set for this run (a papermill override)"
        for profile in reversed(_chain(setup.profile)[1:]):  # the last overlay that set it
            if key in _changed_keys(schema, profiles[profile]):
                return _reason(profiles[profile].get(WHY), key)
        return "?"

    general = differences(setup.cfg, original)
    rows = [{"setting": key, "original": theirs, "this run": ours, "why": why(key)}
            for key, ours, theirs in general]
    if hasattr(setup.cfg, TASK_SETTINGS):
        for task in setup.cfg.tasks:
            for key, ours, theirs in differences(for_task(setup.cfg, task),
                                                 for_task(original, task)):
                if (key, ours, theirs) not in general:
                    rows.append({"setting": f"{key} ({task})", "original": theirs,
                                 "this run": ours, "why": why(TASK_SETTINGS)
                                 if why(TASK_SETTINGS) != "?" else why(key)})
    module = importlib.import_module(f"rlrepro.experiments.{setup.experiment}")
    return rows + list(getattr(module, "DEVIATIONS", ()))


SMOKE_NOTE = ("**Smoke profile**: seconds-long runs that test the code path. Nothing in this "
              "notebook is evidence about the paper's claims.")


@dataclasses.dataclass(frozen=True)
class NotebookSetup:
    """What an experiment's notebook starts from: its validated parameters and output paths."""

    experiment: str
    profile: str
    cfg: object
    overrides: dict  # keys set for this run only (papermill)
    root: pathlib.Path  # the repository (the folder holding params.yaml)
    figures: pathlib.Path  # data/figures/<experiment>/
    metrics_file: pathlib.Path  # data/metrics/<experiment>.json: verdict counts (git-tracked)
    results_file: pathlib.Path  # data/results/<experiment>.json: every number, analysis, deviations

    def deviations(self) -> list[dict]:
        """This run's table of deviations from the original (:func:`deviations`)."""
        return deviations(self)

    @property
    def note(self) -> str:
        """A warning to show above the results ('' unless the profile is smoke)."""
        return SMOKE_NOTE if self.profile == "smoke" else ""


def notebook_setup(experiment: str, profile=None, overrides=None, data_dir="data"):
    """Validate ``experiment``'s section for ``profile`` (raising ParamsError before any work),
    name its outputs under ``data_dir`` (relative to the repository root) and empty its figures
    folder, which this run fills."""
    profile = active_profile(profile)
    cfg = load(experiment, schema_of(experiment), profile, overrides)
    root = find_params_file().parent
    data = root / data_dir
    shutil.rmtree(data / "figures" / experiment, ignore_errors=True)  # this run's figures only
    return NotebookSetup(experiment, profile, cfg, dict(overrides or {}), root,
                         data / "figures" / experiment,
                         data / "metrics" / f"{experiment}.json",
                         data / "results" / f"{experiment}.json")
