"""A streamer's reference faces: added from images (CLI, API), or enrolled automatically
as the most frequent face across their streams; and the references a render follows.
"""

from __future__ import annotations

import logging
import threading
import uuid
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from clipforge import errors
from clipforge.analysis import recognize
from clipforge.analysis.faces import FaceDetector
from clipforge.config import Settings
from clipforge.domain import Face
from clipforge.media import ffmpeg
from clipforge.storage import artifacts, store
from clipforge.storage.models import JobRow, StreamerFaceRow, StreamRow

log = logging.getLogger("clipforge.vision")
AUTO_PREFIX = "auto-"  # file name of an automatically enrolled face
AUTO_MIN_SAMPLES = 8  # embedded sightings the most frequent face needs to be enrolled
AUTO_STREAMS = 20  # newest streams of the streamer looked at
_lock = threading.Lock()  # dlib's and OpenCV's nets are not shared across threads safely


@lru_cache(maxsize=4)
def embedder(backend: str, model_dir: Path | None) -> recognize.Embedder:
    return recognize.make_embedder(backend, model_dir)


@lru_cache(maxsize=1)
def _detector() -> FaceDetector:
    return FaceDetector()


def settings_embedder(settings: Settings) -> recognize.Embedder:
    return embedder(settings.face_backend, settings.face_model_dir)


def image_embedding(settings: Settings, image_bgr: np.ndarray, name: str) -> list[float]:
    """The embedding of the largest face in a reference image."""
    with _lock:
        faces = _detector().detect(image_bgr)
        found = recognize.embed_image(settings_embedder(settings), image_bgr, faces)
    if found is None:
        raise errors.NoFace(f"{name}: no face found (or it is smaller than "
                            f"{recognize.MIN_FACE_PX} px); use a photo where the face is "
                            "clearly visible and facing the camera")
    return found


def read_image(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None
    if image is None:
        raise errors.NotMedia(f"{path}: not an image file; give a JPEG or PNG")
    return image


def add_reference(s: Session, settings: Settings, streamer_id: int, image_bgr: np.ndarray,
                  name: str) -> StreamerFaceRow:
    """Store a reference image and its embedding. Added faces replace an automatically
    enrolled one: a person's choice wins."""
    embedding = image_embedding(settings, image_bgr, name)
    path = _face_folder(settings, streamer_id) / f"{uuid.uuid4().hex}.png"
    cv2.imwrite(str(path), image_bgr)
    return _replace_faces(s, streamer_id, [r for r in _faces(s, streamer_id) if _is_auto(r)],
                          path, embedding)


def _replace_faces(s: Session, streamer_id: int, old: list[StreamerFaceRow], path: Path,
                   embedding: list[float]) -> StreamerFaceRow:
    """Drop `old` faces (rows and images) and store the new one."""
    for row in old:
        Path(row.file).unlink(missing_ok=True)
        s.delete(row)
    row = StreamerFaceRow(streamer_id=streamer_id, file=str(path), embedding=embedding)
    s.add(row)
    s.flush()
    return row


def references(s: Session, streamer_id: int | None) -> list[list[float]]:
    if streamer_id is None:
        return []
    return [list(r.embedding) for r in _faces(s, streamer_id) if r.embedding]


def auto_enrol(s: Session, settings: Settings, stream: StreamRow) -> StreamerFaceRow | None:
    """With no reference face given for the stream's streamer, enrol (or update) the most
    frequent face across their newest streams, with a crop of it as its image. A guess
    that helps: it never fails the stream (a failure is logged, nothing is enrolled)."""
    if stream.streamer_id is None:
        return None
    try:  # _enrol changes rows only once everything that can fail has worked
        return _enrol(s, settings, stream.streamer_id)
    except (errors.ClipForgeError, OSError, ValueError) as exc:
        log.warning("stream %s: no face enrolled automatically: %s", stream.id, exc)
        return None


def _enrol(s: Session, settings: Settings, streamer_id: int) -> StreamerFaceRow | None:
    rows = _faces(s, streamer_id)
    if any(not _is_auto(r) for r in rows):
        return None
    sightings = _sightings(s, streamer_id)
    person = recognize.most_frequent_person([e for _, _, e in sightings],
                                            min_count=AUTO_MIN_SAMPLES)
    if person is None:
        return None
    path = _face_folder(settings, streamer_id) / f"{AUTO_PREFIX}{uuid.uuid4().hex}.png"
    if not _save_crop(sightings, person, path):
        return None
    return _replace_faces(s, streamer_id, rows, path, person)


def _sightings(s: Session, streamer_id: int) -> list[tuple[str, tuple[float, Face], list[float]]]:
    """(media file, (time, face), embedding) of every embedded face in the analyses of
    the streamer's newest streams."""
    streams = s.scalars(select(StreamRow).where(StreamRow.streamer_id == streamer_id)
                        .order_by(StreamRow.id.desc()).limit(AUTO_STREAMS))
    found = []
    for stream in streams:
        media = (stream.info or {}).get("path") or stream.source
        jobs = s.scalars(select(JobRow.result).where(
            JobRow.stream_id == stream.id, JobRow.stage == "analyze",
            JobRow.status == "done"))
        for result in jobs:
            if not result or not store.exists(result):
                continue
            for sample in artifacts.load_analysis(store.local(result)).faces:
                found += [(media, (sample.t, f), f.embedding) for f in sample.faces
                          if f.embedding]
    return found


def _save_crop(sightings: list[tuple[str, tuple[float, Face], list[float]]],
               person: list[float], path: Path) -> bool:
    """Write the sighting closest to `person` as a face image with some margin."""
    found, (t, face), _ = min(sightings, key=lambda x: recognize.distance(x[2], person))
    media = store.local(found) if store.exists(found) else Path(found)
    info = ffmpeg.probe(Path(media))
    frame = next(iter(ffmpeg.decode_frames(Path(media), t, 0.5, 2.0, info.width,
                                           info.height)), None)
    if frame is None:
        return False
    pad = face.w * 0.6
    x0, y0 = int(max(0, face.x - pad)), int(max(0, face.y - pad))
    x1 = int(min(info.width, face.x + face.w + pad))
    y1 = int(min(info.height, face.y + face.h + pad))
    cv2.imwrite(str(path), frame[1][y0:y1, x0:x1])
    return True


def _faces(s: Session, streamer_id: int) -> list[StreamerFaceRow]:
    return list(s.scalars(select(StreamerFaceRow).where(
        StreamerFaceRow.streamer_id == streamer_id).order_by(StreamerFaceRow.id)))


def _is_auto(row: StreamerFaceRow) -> bool:
    return Path(row.file).name.startswith(AUTO_PREFIX)


def _face_folder(settings: Settings, streamer_id: int) -> Path:
    folder = Path(settings.data_dir) / "faces" / str(streamer_id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
