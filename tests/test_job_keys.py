"""Job keys: a field added with keyed_if_set leaves the keys of jobs that do not use it as
they were (their finished work is reused), and changes them when set."""

from __future__ import annotations

from dataclasses import fields

from clipforge.jobs.base import spec
from clipforge.jobs.render import ClipBounds, RenderInput
from clipforge.storage.ledger import job_key


def render_input(revision: int | None) -> RenderInput:
    return RenderInput(
        clip=ClipBounds("c1", 1.0, 20.0, 5.0, "A title"), layout="blur", regions=None,
        style={}, captions_text=None, caption_edits=None, captions=True, lufs=-14.0,
        preset="veryfast", crf=21, out="out", content="abc", references=[],
        transcripts=[], analyses=[], revision=revision)


def test_an_unset_revision_leaves_the_key_as_before_the_field_existed() -> None:
    job = spec("render", "c1", render_input(None))
    assert "revision" not in job.params and "revision" in job.payload
    keyed = [f.name for f in fields(RenderInput) if f.metadata.get("keyed", True)
             and f.name != "revision"]
    assert sorted(job.params) == sorted(keyed)


def test_each_revision_is_a_job_of_its_own() -> None:
    keys = [job_key("stream", spec("render", "c1", render_input(r))) for r in (None, 1, 2)]
    assert len(set(keys)) == 3
    assert job_key("stream", spec("render", "c1", render_input(2))) == keys[2]
