"""A stream's transcript: search it, make a clip from a stretch of it by hand; and the
waveform of a stretch of its audio (under the editor's trim handles)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query

from clipforge.api import schemas
from clipforge.api.deps import Editor, IdPath, ServicesDep, SessionDep, Viewer
from clipforge.api.views import clip_view
from clipforge.domain import Word
from clipforge.services import captions, waveform, workspaces

router = APIRouter(tags=["streams"])
CONTEXT = 6  # words either side of a hit
MAX_HITS = 50


def _plain(text: str) -> str:
    return re.sub(r"[^\w']+", " ", text.lower()).strip()


def find(words: list[Word], query: str) -> list[tuple[int, int]]:
    """(first, last + 1) word index of each place the query's words are said in a row
    (case and punctuation aside; the last query word may be the start of a word)."""
    wanted = _plain(query).split()
    heard = [_plain(w.word) for w in words]
    if not wanted:
        return []
    found = []
    for i in range(len(heard) - len(wanted) + 1):
        head, tail = heard[i:i + len(wanted) - 1], heard[i + len(wanted) - 1]
        if head == wanted[:-1] and tail.startswith(wanted[-1]):
            found.append((i, i + len(wanted)))
            if len(found) == MAX_HITS:
                break
    return found


@router.get("/api/streams/{stream_id}/transcript", response_model=schemas.Transcript,
            responses=schemas.responses(404))
def search_transcript(stream_id: IdPath, s: SessionDep, member: Viewer,
                      q: Annotated[str, Query(max_length=200)] = ""
                      ) -> schemas.Transcript:
    """Where the stream's transcript says Q, with a few words either side of each hit
    (none for an empty Q)."""
    stream = workspaces.stream(s, member, stream_id)
    words = captions.stream_words(s, stream)
    hits = []
    for first, last in find(words, q):
        shown = words[max(0, first - CONTEXT):last + CONTEXT]
        hits.append(schemas.TranscriptHit(
            start=words[first].start, end=words[last - 1].end,
            words=[schemas.Word(start=w.start, end=w.end, word=w.word, heard=w.word)
                   for w in shown]))
    return schemas.Transcript(query=q, hits=hits)


@router.post("/api/streams/{stream_id}/clips", status_code=201, response_model=schemas.Clip,
             responses=schemas.responses(404, 409, 422))
def make_clip(stream_id: IdPath, body: schemas.ClipMake, found: ServicesDep,
              member: Editor) -> schemas.Clip:
    """A clip made by hand (say from a stretch of the transcript): it is planned and
    rendered like the picked ones, and a `clip.rendered` event says when it is ready."""
    with found.repo.session() as s:
        workspaces.stream(s, member, stream_id)
    clip_id = found.orchestrator.make_clip(stream_id, body.start, body.end, body.title,
                                           by=member.user)
    with found.repo.session() as s:
        return clip_view(workspaces.clip(s, member, clip_id))


@router.get("/api/streams/{stream_id}/waveform", response_model=schemas.Waveform,
            responses=schemas.responses(404, 422))
def stream_waveform(stream_id: IdPath, s: SessionDep, found: ServicesDep, member: Viewer,
                    start: Annotated[float, Query(ge=0, le=1e7)] = 0.0,
                    end: Annotated[float | None, Query(ge=0, le=1e7)] = None,
                    points: Annotated[int, Query(ge=8, le=2000)] = 400) -> schemas.Waveform:
    """The peak level (0..1) of POINTS equal slices of the stream's audio from START to
    END seconds (default: as far as it goes, at most 600 s)."""
    stream = workspaces.stream(s, member, stream_id)
    if end is None:
        end = min(stream.duration, start + waveform.MAX_SPAN)
    return schemas.Waveform(start=start, end=end, peaks=waveform.peaks(
        found.settings.storage_url, stream, start, end, points))
