"""Names for cached files: a short hash of what a file was made from, so that a changed
configuration, data set or model is a new file and an unchanged one is found again."""
from __future__ import annotations

import hashlib
import json
import pathlib


def key(*parts) -> str:
    """A short hash of JSON-able ``parts`` (dicts in any key order hash equal)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def file_key(path) -> str:
    """A short hash of a file's content."""
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()[:16]
