"""A streamer's reference faces, added from images (CLI, API). (A streamer who adds none
gets one enrolled automatically: jobs/enrol.py.)"""

from __future__ import annotations

import logging
import threading
import uuid
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from sqlalchemy.orm import Session

from clipforge import errors
from clipforge.analysis import recognize
from clipforge.analysis.faces import FaceDetector
from clipforge.config import Settings
from clipforge.storage import store
from clipforge.storage.models import StreamerFaceRow
from clipforge.storage.repository import is_auto_face, reference_embeddings, streamer_faces

log = logging.getLogger("clipforge.vision")
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
    return _replace_faces(s, streamer_id, [r for r in streamer_faces(s, streamer_id)
                                           if is_auto_face(r)], path, embedding)


def _replace_faces(s: Session, streamer_id: int, old: list[StreamerFaceRow], path: Path,
                   embedding: list[float]) -> StreamerFaceRow:
    """Drop `old` faces (rows and images) and store the new one."""
    for row in old:
        delete_face(s, row)
    row = StreamerFaceRow(streamer_id=streamer_id, file=str(path), embedding=embedding)
    s.add(row)
    s.flush()
    return row


def _face_folder(settings: Settings, streamer_id: int) -> Path:
    folder = Path(settings.data_dir) / "faces" / str(streamer_id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def references(s: Session, streamer_id: int | None) -> list[list[float]]:
    """The streamer's reference faces (added, or enrolled automatically)."""
    return reference_embeddings(s, streamer_id)


def face_file(row: StreamerFaceRow) -> Path:
    """A face's image, to read: an enrolled crop is fetched from the store."""
    return store.local(row.file)


def delete_face(s: Session, row: StreamerFaceRow) -> None:
    """Drop a face and its image (an enrolled crop stays with the stream it came from)."""
    if not store.is_store_path(row.file):
        Path(row.file).unlink(missing_ok=True)
    s.delete(row)
