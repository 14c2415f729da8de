"""The enrol job: a streamer who gave no reference face gets the most frequent face across
their newest streams, with a crop of it (in the store) as its image. It runs after score
and before the clips are planned, so the camera follows the face it found. A guess that
helps: it never fails the stream (a failure enrols nobody)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
from sqlalchemy import select
from sqlalchemy.orm import Session

from clipforge import errors
from clipforge.analysis import recognize
from clipforge.domain import Face
from clipforge.jobs import flow
from clipforge.jobs.base import Finished, Result, spec, unkeyed
from clipforge.jobs.context import Run
from clipforge.jobs.plan import plan_specs
from clipforge.media import ffmpeg
from clipforge.storage import artifacts, store
from clipforge.storage.ledger import JobSpec
from clipforge.storage.models import ClipRow, JobRow, StreamerFaceRow, StreamRow
from clipforge.storage.repository import AUTO_FACE, is_auto_face, streamer_faces

log = logging.getLogger(__name__)
MIN_SAMPLES = 8  # embedded sightings the most frequent face needs to be enrolled
NEWEST_STREAMS = 20  # of the streamer, looked at


@dataclass(frozen=True)
class Seen:
    """A finished analysis of one of the streamer's streams, and that stream's media."""

    media: str
    analysis: str


@dataclass(frozen=True)
class EnrolInput:
    streamer: int
    inputs: list[str]  # the keys of the analyze jobs looked at
    seen: list[Seen] = unkeyed()


def enrol_or_plan(done: Finished, clips: list[ClipRow]) -> list[JobSpec]:
    """After score: enrol the streamer's face if they gave none, else plan the clips."""
    streamer = done.stream.streamer_id
    faces = streamer_faces(done.s, streamer) if streamer is not None else []
    if streamer is None or any(not is_auto_face(f) for f in faces):
        return plan_specs(done.s, done.run, done.stream, clips)
    jobs = _analyses(done.s, streamer)
    return [spec("enrol", f"streamer-{streamer}", EnrolInput(
        streamer=streamer, inputs=[key for key, _ in jobs], seen=[seen for _, seen in jobs]))]


def _analyses(s: Session, streamer_id: int) -> list[tuple[str, Seen]]:
    """(job key, what it saw) of the finished analyze jobs of the streamer's newest
    streams."""
    streams = s.scalars(select(StreamRow).where(StreamRow.streamer_id == streamer_id)
                        .order_by(StreamRow.id.desc()).limit(NEWEST_STREAMS))
    found = []
    for stream in streams:
        media = (stream.info or {}).get("path") or stream.source
        for job in s.scalars(select(JobRow).where(
                JobRow.stream_id == stream.id, JobRow.stage == "analyze",
                JobRow.status == "done").order_by(JobRow.id)):
            if job.result:
                found.append((job.key, Seen(media, job.result)))
    return found


def run(run: Run, inp: EnrolInput) -> Result:
    image = run.artifact(".png")
    path = image.with_name(AUTO_FACE + image.name)  # the name marks a guessed face
    try:
        enrolled = _enrol(inp, path)
    except (errors.ClipForgeError, OSError, ValueError) as exc:
        log.warning("streamer %s: no face enrolled automatically: %s", inp.streamer, exc)
        enrolled = None
    if enrolled is None:
        path = run.artifact(".json")
        artifacts.write_json(path, {})
        return Result(path, {})
    return Result(path, {"embedding": enrolled})


def _enrol(inp: EnrolInput, path: Path) -> list[float] | None:
    sightings = [(seen.media, (sample.t, face), face.embedding)
                 for seen in inp.seen if store.exists(seen.analysis)
                 for sample in artifacts.load_analysis(store.local(seen.analysis)).faces
                 for face in sample.faces if face.embedding]
    person = recognize.most_frequent_person([e for _, _, e in sightings],
                                            min_count=MIN_SAMPLES)
    if person is None or not _save_crop(sightings, person, path):
        return None
    return person


def _save_crop(sightings: list[tuple[str, tuple[float, Face], list[float]]],
               person: list[float], path: Path) -> bool:
    """Write the sighting closest to `person` as a face image with some margin."""
    found, (t, face), _ = min(sightings, key=lambda x: recognize.distance(x[2], person))
    media = store.local(found) if store.exists(found) else Path(found)
    info = ffmpeg.probe(media)
    frame = next(iter(ffmpeg.decode_frames(media, t, 0.5, 2.0, info.width, info.height)),
                 None)
    if frame is None:
        return False
    pad = face.w * 0.6
    x0, y0 = int(max(0, face.x - pad)), int(max(0, face.y - pad))
    x1 = int(min(info.width, face.x + face.w + pad))
    y1 = int(min(info.height, face.y + face.h + pad))
    tmp = path.with_name(f"{path.stem}.part.png")
    cv2.imwrite(str(tmp), frame[1][y0:y1, x0:x1])
    tmp.replace(path)
    return True


def follow(done: Finished, inp: EnrolInput) -> list[JobSpec]:
    """Store the enrolled face (replacing an older guess; a face a person added meanwhile
    wins), then plan the clips."""
    s, embedding = done.s, done.output.get("embedding")
    faces = streamer_faces(s, inp.streamer)
    if embedding and all(is_auto_face(f) for f in faces):
        for old in faces:
            s.delete(old)
        s.add(StreamerFaceRow(streamer_id=inp.streamer, file=str(done.job.result),
                              embedding=embedding))
        s.flush()
    return plan_specs(s, done.run, done.stream, flow.picked_clips(s, done.stream))

