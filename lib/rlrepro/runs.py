"""Resumable run folders and what decides whether a cached file or run is still valid.

A run folder holds ``checkpoint.pt`` while it trains (written atomically, every few steps), then
its trained files (``policy.pt``, ...) and ``result.json``. Every file carries the run's
*fingerprint*: its configuration and the code that computes it, so that a finished run is loaded
only if both are unchanged, and a checkpoint is resumed only by the run that wrote it.

The code is :func:`code_fingerprint`: the source of every ``rlrepro`` module in the import
closure of the modules that compute the artifact, with docstrings, comments and formatting
ignored. Nobody keeps a list of files: a new import is covered when it is written.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import pathlib
import warnings

import numpy as np
import torch

CHECKPOINT, POLICY, RESULT = "checkpoint.pt", "policy.pt", "result.json"
PACKAGE = pathlib.Path(__file__).resolve().parent  # the rlrepro package


class CheckpointError(RuntimeError):
    """A checkpoint or trained file is unreadable, or belongs to a different run."""


# --- keys and code fingerprints -----------------------------------------------------------------

def key(*parts) -> str:
    """A short hash of JSON-able ``parts`` (dicts in any key order hash equal): the name of a
    cached file made from them."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def file_key(path) -> str:
    """A short hash of a file's content."""
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()[:16]


def read_cache(path, read):
    """``read(path)`` of a cached file (data or a model, keyed by what made it), or None where
    it is missing or unreadable: a truncated cache is made again, with a warning naming it."""
    path = pathlib.Path(path)
    if not path.is_file():
        return None
    try:
        return read(path)
    except Exception as error:  # numpy and torch raise several types for damaged files
        warnings.warn(f"{path}: unreadable ({type(error).__name__}: {error}); making it again",
                      stacklevel=2)
        return None


def read_npz(path) -> dict:
    """Every array of an ``.npz`` file, read whole (the file closed)."""
    with np.load(path) as saved:
        return dict(saved)


def file_keys(folder, names) -> dict:
    """``{name: file_key}`` of files in ``folder``: recorded when they are written, so that a
    file damaged or replaced later is noticed (``check_file_keys``) instead of being used."""
    return {name: file_key(pathlib.Path(folder) / name) for name in names}


def check_file_keys(folder, keys: dict, fix: str):
    """A CheckpointError naming the first of ``keys``' files in ``folder`` that is missing or
    differs from the file written (``file_keys``), and ``fix``."""
    for name, recorded in keys.items():
        path = pathlib.Path(folder) / name
        if not path.is_file():
            raise CheckpointError(f"{path}: missing, though {folder} says it was written; {fix}")
        if file_key(path) != recorded:
            raise CheckpointError(f"{path}: not the file that was written (its content "
                                  f"changed: truncated or replaced?); {fix}")


def code_fingerprint(*modules) -> str:
    """A short hash of the code of ``modules`` (module objects or dotted names) and of every
    ``rlrepro`` module they import, directly or not, at the top or inside functions. Computed
    once per process: the code a process runs does not change under it either."""
    names = tuple(sorted({m if isinstance(m, str) else m.__name__ for m in modules}))
    unknown = [name for name in names if not _is_module(name)]
    if unknown:
        raise ValueError(f"code_fingerprint: {unknown} are not modules of {PACKAGE}")
    return _fingerprint_of(names)


@functools.lru_cache(maxsize=None)
def _fingerprint_of(names: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for name in sorted(set().union(*(_closure(n) for n in names))):
        digest.update(f"{name}\n{_normalised(_file(name))}\n".encode())
    return digest.hexdigest()[:16]


def import_closure(*names: str) -> list[pathlib.Path]:
    """The files of the rlrepro modules among ``names`` and of every rlrepro module they import,
    recursively (what a fingerprint hashes; the DVC stages depend on the same files,
    ``rlrepro.pipeline``)."""
    modules = [name for name in names if _is_module(name)]
    return sorted(_file(name) for name in set().union(*(_closure(m) for m in modules)))


@functools.lru_cache(maxsize=None)
def _closure(name: str) -> frozenset[str]:
    """``name``, the packages it lives in, and every rlrepro module it imports, recursively."""
    seen, todo = set(), [name]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        parts = module.split(".")
        todo += [package for package in (".".join(parts[:k]) for k in range(1, len(parts)))
                 if _is_module(package)]  # its packages' __init__.py (a namespace has none)
        todo += _imports(module)
    return frozenset(seen)


def _file(name: str) -> pathlib.Path:
    """The file of the rlrepro module or package ``name``."""
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _is_module(name: str) -> bool:
    return name.split(".")[0] == "rlrepro" and _file(name).is_file()


@functools.lru_cache(maxsize=None)
def _imports(name: str) -> list[str]:
    """The rlrepro modules ``name``'s file imports anywhere in it; ``from rlrepro.x import y``
    gives ``rlrepro.x.y`` where y is a module, else ``rlrepro.x``."""
    path = _file(name)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, one level up per extra dot
                anchor = package.rsplit(".", node.level - 1)[0]
                base = f"{anchor}.{base}" if base else anchor
            found += [f"{base}.{a.name}" if _is_module(f"{base}.{a.name}") else base
                      for a in node.names]
    return [module for module in found if _is_module(module)]


@functools.lru_cache(maxsize=None)
def _normalised(path: pathlib.Path) -> str:
    """The file's syntax tree without docstrings: comments, docstrings and formatting do not
    change it, any change of code does."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                and node.body and isinstance(node.body[0], ast.Expr)
                and isinstance(node.body[0].value, ast.Constant)
                and isinstance(node.body[0].value.value, str)):
            node.body = node.body[1:]
    return ast.dump(tree)


# --- files written atomically, read with a clear error -------------------------------------------

def save(state, path) -> pathlib.Path:
    """``torch.save`` through a temporary file: a run killed while saving keeps the previous
    file, never half of one."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path


def write_json(value, path) -> pathlib.Path:
    """JSON through a temporary file (as :func:`save`)."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=1))
    os.replace(tmp, path)
    return path


def load(path, expected: dict | None = None, map_location="cpu") -> dict:
    """A file written by :class:`RunFolder` (its fingerprint must be ``expected``, if given);
    a CheckpointError naming the file and what to delete if it is unreadable or foreign."""
    path = pathlib.Path(path)
    fix = (f"delete the run folder {path.parent} to train this run again"
           if path.name != CHECKPOINT and (path.parent / RESULT).exists()
           else "delete it to start this run again")
    try:
        state = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as error:  # torch raises several types for truncated or foreign files
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(error).__name__}: "
                              f"{error}); {fix}") from None
    if not isinstance(state, dict) or "fingerprint" not in state:
        raise CheckpointError(f"{path}: not an rlrepro checkpoint (no 'fingerprint' entry); {fix}")
    if expected is not None and state["fingerprint"] != expected:
        raise CheckpointError(f"{path}: written by a different run configuration: "
                              + "; ".join(differences(state["fingerprint"], expected))
                              + ". Delete it or use a new run folder")
    return state


def differences(found: dict, expected: dict, prefix="") -> list[str]:
    """Where two nested dicts differ, one phrase per key."""
    out = []
    for name in sorted(set(found) | set(expected)):
        a, b = found.get(name), expected.get(name)
        if isinstance(a, dict) and isinstance(b, dict):
            out += differences(a, b, f"{prefix}{name}.")
        elif a != b:
            out.append(f"'{prefix}{name}' is {a!r} in the checkpoint, {b!r} expected")
    return out


# --- the run folder -----------------------------------------------------------------------------

class RunFolder:
    """One run's folder and fingerprint: ``config`` (JSON-able: configurations, seed, the
    content hashes of the files it starts from) and the code of ``modules``, the modules that
    compute the run (not the experiment that picks its configuration)."""

    def __init__(self, path, config: dict, modules):
        self.path = pathlib.Path(path)
        # Through JSON, as result.json holds it: tuples are lists there.
        self.fingerprint = json.loads(json.dumps({**config, "code": code_fingerprint(*modules)}))

    def result(self) -> dict | None:
        """``result.json`` if the run finished with this fingerprint, else None; a
        CheckpointError naming a trained file that is missing or changed since."""
        path = self.path / RESULT
        if not path.exists():
            return None
        result = json.loads(path.read_text())
        if result.get("fingerprint") != self.fingerprint:
            return None
        check_file_keys(self.path, result.get("files", {}),
                        f"delete the run folder {self.path} to train this run again")
        return result

    def checkpoint(self, map_location="cpu") -> dict | None:
        """The run's checkpoint to resume from (None: start afresh); an error if it is unreadable
        or was written by another configuration or code."""
        path = self.path / CHECKPOINT
        return load(path, self.fingerprint, map_location) if path.exists() else None

    def finish(self, result: dict, **files) -> dict:
        """Write the trained ``files`` (name -> state), then ``result.json`` (the run is finished
        once it exists), then drop the checkpoint; the result with its fingerprint."""
        for name, state in files.items():
            save({"fingerprint": self.fingerprint, **state}, self.path / name)
        result = {"fingerprint": self.fingerprint, **result,
                  "files": file_keys(self.path, files)}
        write_json(result, self.path / RESULT)
        (self.path / CHECKPOINT).unlink(missing_ok=True)
        return result

    def load(self, name: str = POLICY, map_location="cpu") -> dict:
        """A trained file of the finished run."""
        return load(self.path / name, map_location=map_location)


def save_checkpoints(runs: list[RunFolder], states: list[dict], step: int,
                     stop_at: int | None = None) -> bool:
    """Write each run's checkpoint, each replaced only once all are written (runs trained
    together stay at one step). True if ``stop_at`` says to end here, as if the process were
    killed after this checkpoint (for tests)."""
    for run, state in zip(runs, states, strict=True):
        run.path.mkdir(parents=True, exist_ok=True)
        torch.save({"fingerprint": run.fingerprint, **state}, run.path / (CHECKPOINT + ".tmp"))
    for run in runs:
        os.replace(run.path / (CHECKPOINT + ".tmp"), run.path / CHECKPOINT)
    return stop_at is not None and step >= stop_at


# --- what produced a stage's outputs -------------------------------------------------------------

RUN_RECORD = "rlrepro"  # the executed notebook's metadata key of :func:`run_record`


def run_record(root) -> dict:
    """What produced a stage's outputs: the commit (and whether the library, notebooks,
    references or parameters had uncommitted changes), the machine, and torch's version;
    papermill's own metadata adds the start, end and duration."""
    import platform
    import subprocess

    def git(*words):
        done = subprocess.run(["git", *words], cwd=root, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    cpu = next((line.split(":", 1)[1].strip() for line in
                open("/proc/cpuinfo").read().splitlines() if line.startswith("model name")),
               platform.processor()) if os.path.exists("/proc/cpuinfo") else platform.processor()
    return {"commit": git("rev-parse", "HEAD"),
            "uncommitted": bool(git("status", "--porcelain", "--", "lib", "notebooks",
                                    "references", "params.yaml")),
            "cpu": cpu, "cores": os.cpu_count(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "",
            "torch": torch.__version__, "python": platform.python_version()}
