"""What every job stage shares.

- A stage's input is one frozen dataclass. It is stored as JSON on the job row and hashed
  for the job's key, so a job with the same input is the same job (finished work is
  reused). Fields made with `unkeyed()` are left out of the key: where an input file is
  (its name already holds the key of the job that wrote it).
- A step returns a `Result`: the file it wrote, and a small `output` that the jobs after
  it read from the row, never from the file.
- A stage's `follow` sees the finished job as `Finished`, inside the transaction that
  records it, and returns the jobs that follow. It writes rows only: no file is read and
  no process started while the stream's row is locked.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from clipforge.jobs.context import Run
from clipforge.storage.ledger import JobSpec
from clipforge.storage.models import JobRow, StreamRow

Input = TypeVar("Input")


def unkeyed(**options: Any) -> Any:
    """A field of an input that the job's key leaves out."""
    return field(metadata={"keyed": False}, **options)


def keyed_if_set(**options: Any) -> Any:
    """A field of an input in the job's key only when it is not None: a field added later
    leaves the keys of the jobs that do not use it (and their reuse) as they were."""
    return field(default=None, metadata={"keyed_if_set": True}, **options)


def encode(value: Any) -> dict[str, Any]:
    return dataclasses.asdict(value)


def decode(cls: type[Input], raw: dict[str, Any]) -> Input:
    """An input dataclass from its JSON, nested dataclasses included."""
    hints = typing.get_type_hints(cls)
    values = {f.name: _decoded(hints[f.name], raw[f.name]) for f in fields(cls)  # type: ignore[arg-type]
              if f.name in raw}
    return cls(**values)


def _decoded(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(hint, type) and is_dataclass(hint):
        return decode(hint, value)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _decoded(inner[0], value) if len(inner) == 1 else value
    if origin is list and args:
        return [_decoded(args[0], v) for v in value]
    return value


def spec(stage: str, target: str, value: Any) -> JobSpec:
    """The job that runs STAGE on TARGET with this input."""
    raw = encode(value)
    keyed = {f.name: raw[f.name] for f in fields(value) if f.metadata.get("keyed", True)
             and not (f.metadata.get("keyed_if_set") and raw[f.name] is None)}
    return JobSpec(stage, target, keyed, raw)


@dataclass(frozen=True)
class Result:
    """What a step wrote (its result file) and what the jobs after it need to know."""

    path: Path
    output: dict[str, Any] | None = None


@dataclass
class Finished:
    """A finished (or reused) job, as the stage's `follow` sees it."""

    s: Session
    run: Run
    stream: StreamRow
    job: JobRow

    @property
    def output(self) -> dict[str, Any]:
        return self.job.output or {}
