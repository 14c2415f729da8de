"""Bad input: one clear line on stderr naming the input and the problem, no traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import CliRunner, cli_env
from tests.procs import run_in_group


def assert_clean_error(proc, code: int, *needles: str) -> None:  # type: ignore[no-untyped-def]
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr and "╭" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("clipforge: error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize(
    ("case", "code", "words"),
    [
        ("missing", 2, ["no such file"]),
        ("not_media", 2, ["not a video or audio file"]),
        ("no_audio", 2, ["has no audio stream"]),
        ("empty", 2, ["empty"]),
        ("truncated", 2, ["truncated or corrupt"]),
        ("cut_short", 2, ["truncated or corrupt"]),
    ],
)
def test_bad_source(run_cli: CliRunner, bad_inputs: dict[str, Path], case: str, code: int,
                    words: list[str]) -> None:
    source = bad_inputs[case]
    proc = run_cli("process", str(source), "-q")
    assert_clean_error(proc, code, str(source), *words)


def test_bad_chat_file(run_cli: CliRunner, bad_inputs: dict[str, Path]) -> None:
    chat = bad_inputs["bad_chat"]
    proc = run_cli("process", str(bad_inputs["audio_only"]), "--chat", str(chat), "-q")
    assert_clean_error(proc, 2, str(chat), "line")


def test_missing_chat_file(run_cli: CliRunner, bad_inputs: dict[str, Path],
                           tmp_path: Path) -> None:
    chat = tmp_path / "nope.jsonl"
    proc = run_cli("process", str(bad_inputs["audio_only"]), "--chat", str(chat), "-q")
    assert_clean_error(proc, 2, str(chat), "not found")


def test_url_to_a_private_address_is_refused(run_cli: CliRunner) -> None:
    url = "http://10.0.0.1/videos/123456.mp4"
    proc = run_cli("process", url, "-q")
    assert_clean_error(proc, 2, url, "private, loopback or link-local")


def test_only_http_urls(run_cli: CliRunner) -> None:
    url = "ftp://example.com/vod.mp4"
    proc = run_cli("process", url, "-q")
    assert_clean_error(proc, 2, url, "only http:// and https://")


def test_bad_options(run_cli: CliRunner, bad_inputs: dict[str, Path]) -> None:
    source = str(bad_inputs["audio_only"])
    assert_clean_error(run_cli("process", source, "--layout", "wide", "-q"), 2, "--layout")
    assert_clean_error(run_cli("process", source, "--min-len", "50", "--max-len", "20", "-q"),
                       2, "--min-len")


def test_bad_input_leaves_earlier_results_alone(run_cli: CliRunner, bad_inputs: dict[str, Path],
                                                tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").write_text("{}")
    proc = run_cli("process", str(bad_inputs["not_media"]), "--out", str(out), "-q")
    assert proc.returncode == 2
    assert (out / "report.json").read_text() == "{}"


def test_database_from_an_older_version_is_refused_clearly(run_cli: CliRunner,
                                                            bad_inputs: dict[str, Path],
                                                            tmp_path: Path) -> None:
    import sqlite3

    data = tmp_path / "old"
    data.mkdir()
    with sqlite3.connect(data / "clipforge.db") as conn:
        conn.execute("CREATE TABLE clips (id VARCHAR(32) PRIMARY KEY, rank INTEGER)")
    proc = run_cli("process", str(bad_inputs["audio_only"]), "-q", data_dir=data)
    assert_clean_error(proc, 6, "older ClipForge", "clips")


def test_the_installed_command_reports_errors_as_python_m_does(tmp_path: Path) -> None:
    """The `clipforge` script pip installs (what the README and `make demo` run) goes
    through the same error handling as `python -m clipforge.cli`."""
    script = Path(sys.executable).parent / "clipforge"
    assert script.is_file(), f"{script}: run `pip install -e .` (make dev) first"
    missing = tmp_path / "missing.mp4"
    proc = run_in_group([str(script), "process", str(missing), "-q"], timeout=120,
                        env=cli_env(tmp_path / "data"), cwd=tmp_path)
    assert_clean_error(proc, 2, str(missing), "no such file")
