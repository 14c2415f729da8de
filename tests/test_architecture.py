"""The layout is the architecture: these tests read every module's imports (without
importing anything) and hold the package to it.

- No import cycle between modules, nor between folders.
- The analysis code is pure: it imports no database, queue, service or web code.
- The API and the CLI go through services: they import neither jobs nor analysis.
- Queues, worker kinds, ports and event names all come from the stage registry.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "clipforge"
PURE = "analysis"
NOT_FROM_PURE = ("storage", "execution", "services", "api", "jobs", "cli")
EDGES = ("api", "cli")
NOT_FROM_EDGES = ("jobs", "analysis")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that PATH imports, anywhere in it (inside functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("clipforge")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.startswith("clipforge"):
            for alias in node.names:  # `from clipforge.x import y`: y may be a module
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in known else node.module)
    return {m for m in found if m in known}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(path, known) - {name} for name, path in known.items()}


def folder(module: str) -> str:
    """The folder (or top-level module) a module belongs to: `jobs`, `config`, ..."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "clipforge"


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as the path around it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_module_imports_itself_back() -> None:
    found = cycle(graph())
    assert found is None, "import cycle: " + " -> ".join(found or [])


def test_no_two_folders_import_each_other() -> None:
    folders: dict[str, set[str]] = {}
    for module, targets in graph().items():
        if folder(module) == "clipforge":  # the package's own __init__
            continue
        folders.setdefault(folder(module), set()).update(
            folder(t) for t in targets if folder(t) not in (folder(module), "clipforge"))
    found = cycle(folders)
    assert found is None, "folders import each other: " + " -> ".join(found or [])


def test_analysis_is_pure() -> None:
    wrong = sorted(f"{m} imports {t}" for m, targets in graph().items()
                   if folder(m) == PURE for t in targets if folder(t) in NOT_FROM_PURE)
    assert not wrong, wrong


def test_api_and_cli_go_through_services() -> None:
    wrong = sorted(f"{m} imports {t}" for m, targets in graph().items()
                   if folder(m) in EDGES for t in targets if folder(t) in NOT_FROM_EDGES)
    assert not wrong, wrong


def test_the_checks_catch_what_they_should() -> None:
    """The rules above can fail: a cycle and a wrong import are seen."""
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None
    known = modules()
    fake = PACKAGE / "analysis" / "score.py"
    found = imports(fake, known)
    assert "clipforge.domain" in found  # `from clipforge.domain import ...` is read
    assert folder("clipforge.jobs.registry") == "jobs" and folder("clipforge.cli") == "cli"


@pytest.mark.parametrize("module", sorted(m for m in modules() if folder(m) == PURE))
def test_each_analysis_module_reads_in_one_sitting(module: str) -> None:
    lines = len(modules()[module].read_text().splitlines())
    assert lines <= 400, f"{module}: {lines} lines; split it"


def test_queues_workers_ports_and_events_come_from_the_registry() -> None:
    from clipforge import domain
    from clipforge.execution import broker
    from clipforge.execution.completion import event_payload
    from clipforge.jobs import registry
    from clipforge.storage.models import JobRow

    stages = registry.STAGES
    # Broker queues: one per worker kind, each stage on its declared worker's queue.
    assert broker.kinds() == list(dict.fromkeys(s.worker.name for s in stages.values()))
    assert {name: broker.queue_of(name) for name in stages} == \
        {name: s.worker.name for name, s in stages.items()}
    # Ports: the declared ones, distinct.
    assert broker.ports() == {s.worker.name: s.worker.port for s in stages.values()}
    assert len(set(broker.ports().values())) == len(broker.ports())
    # Which stages each kind of worker runs.
    assert sorted(s for kind in broker.kinds() for s in registry.stages_of(kind)) == \
        sorted(stages)
    # Events: every stage event is one of the documented names.
    documented = {v for k, v in vars(domain).items() if k.isupper() and isinstance(v, str)
                  and "." in v}
    assert {s.event for s in stages.values() if s.event} <= documented
    # Event payloads come from the stage's input: a chunk job names its chunk.
    from clipforge.domain import Chunk
    from clipforge.jobs.base import encode
    from clipforge.jobs.transcribe import TranscribeInput

    job = JobRow(id=1, stage="transcribe", target="t", payload=encode(
        TranscribeInput("tiny.en", "en", Chunk(3, 0.0, 10.0, "a.wav"))))
    assert event_payload(job) == {"job": 1, "stage": "transcribe", "target": "t", "chunk": 3}
    # Detached stages are declared, not listed elsewhere.
    assert [s.name for s in stages.values() if s.detached] == ["publish"]
