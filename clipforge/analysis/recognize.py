"""Face recognition: who a detected face is, as a 128-d embedding compared by distance.

Backends share one small interface (`Embedder.embed`): the default is dlib's ResNet
(`dlib-bin` wheels, no compiler needed) with its 5-point landmark aligner, both models
shipped as files in the `face-recognition-models` package (located with find_spec, as
the BlazeFace models are). InsightFace is optional: it is used only when the package is
installed and its model pack is already on disk (`CLIPFORGE_FACE_MODEL_DIR`); nothing is
ever downloaded.

Two embeddings of the same person are at most ~0.6 apart (dlib's own threshold, measured
on LFW); different people usually further. `SAME_PERSON` is that threshold.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from clipforge.domain import Face
from clipforge.errors import MissingDependency

SAME_PERSON = 0.6  # dlib ResNet: distance below which two faces are the same person
MIN_FACE_PX = 24  # smaller faces give embeddings too noisy to tell people apart
BACKENDS = ("dlib", "insightface")


class Embedder(Protocol):
    """Turns a detected face into an identity embedding (None if it cannot)."""

    def embed(self, frame_bgr: np.ndarray, face: Face) -> list[float] | None: ...


def models_dir() -> Path:
    """The folder of face-recognition-models' .dat files (the package is not imported:
    its __init__ needs pkg_resources, which recent setuptools no longer ships)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency(
            "The face recognition models are missing: install face-recognition-models "
            "(pip install face-recognition-models==0.3.0).")
    return Path(spec.submodule_search_locations[0]) / "models"


class DlibEmbedder:
    """dlib's ResNet-34 face descriptor over a 5-point aligned 150x150 face chip."""

    LANDMARKS = "shape_predictor_5_face_landmarks.dat"
    NET = "dlib_face_recognition_resnet_model_v1.dat"

    def __init__(self) -> None:
        try:
            import dlib
        except ImportError as exc:
            raise MissingDependency(
                "dlib is missing: install dlib-bin (pip install dlib-bin==20.0.1.post1)."
            ) from exc
        folder = models_dir()
        for name in (self.LANDMARKS, self.NET):
            if not (folder / name).is_file():
                raise MissingDependency(f"{name} is not in {folder}: reinstall "
                                        "face-recognition-models.")
        self._dlib = dlib
        self._shape = dlib.shape_predictor(str(folder / self.LANDMARKS))
        self._net = dlib.face_recognition_model_v1(str(folder / self.NET))

    def embed(self, frame_bgr: np.ndarray, face: Face) -> list[float] | None:
        if min(face.w, face.h) < MIN_FACE_PX:
            return None
        rgb = np.ascontiguousarray(frame_bgr[:, :, ::-1])
        box = self._dlib.rectangle(int(face.x), int(face.y), int(face.x + face.w),
                                   int(face.y + face.h))
        shape = self._shape(rgb, box)
        return [float(v) for v in self._net.compute_face_descriptor(rgb, shape, 0)]


class InsightFaceEmbedder:
    """InsightFace's ArcFace, from a model pack already on disk (`root/models/NAME`).

    Its own detector runs on the frame and the face overlapping ours most is used, since
    its aligner needs its own landmarks. Its distances are on another scale than dlib's;
    embeddings are L2-normalised and `SAME_PERSON` for it is 1.0 (cosine ~0.5)."""

    def __init__(self, root: Path, name: str = "buffalo_l") -> None:
        if importlib.util.find_spec("insightface") is None:
            raise MissingDependency("face backend insightface: the insightface package is "
                                    "not installed; use the dlib backend")
        if not (root / "models" / name).is_dir():
            raise MissingDependency(
                f"face backend insightface: no model pack {name} in {root / 'models'}; "
                "put it there (it is never downloaded) or use the dlib backend")
        from insightface.app import FaceAnalysis

        self._app = FaceAnalysis(name=name, root=str(root),
                                 allowed_modules=["detection", "recognition"])
        self._app.prepare(ctx_id=-1)

    def embed(self, frame_bgr: np.ndarray, face: Face) -> list[float] | None:
        best, best_iou = None, 0.3
        for found in self._app.get(frame_bgr):
            x0, y0, x1, y1 = (float(v) for v in found.bbox)
            iou = _iou((face.x, face.y, face.x + face.w, face.y + face.h), (x0, y0, x1, y1))
            if iou > best_iou:
                best, best_iou = found, iou
        if best is None:
            return None
        vec = np.asarray(best.normed_embedding, dtype=np.float64)
        return [float(v) for v in vec]


def make_embedder(backend: str = "dlib", model_dir: Path | None = None) -> Embedder:
    if backend == "dlib":
        return DlibEmbedder()
    if backend == "insightface":
        return InsightFaceEmbedder(model_dir or Path.home() / ".insightface")
    raise ValueError(f"face backend {backend!r}: use one of {', '.join(BACKENDS)}")


def distance(a: Sequence[float], b: Sequence[float]) -> float:
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))


def nearest(embedding: Sequence[float], references: Sequence[Sequence[float]]) -> float:
    """Distance to the closest reference (inf without references)."""
    return min((distance(embedding, r) for r in references), default=float("inf"))


def embed_image(embedder: Embedder, image_bgr: np.ndarray,
                faces: list[Face]) -> list[float] | None:
    """The embedding of the largest face in a reference image, or None if there is none."""
    if not faces:
        return None
    return embedder.embed(image_bgr, max(faces, key=lambda f: f.w * f.h))


def most_frequent_person(embeddings: list[list[float]],
                         min_count: int = 5) -> list[float] | None:
    """The mean embedding of the largest group of mutually close embeddings: across a
    streamer's streams, that is the streamer (guests come and go). None when no group
    reaches `min_count`. Greedy leader clustering: cheap, and faces of one person sit in
    one tight ball at dlib's scale, so the order rarely matters."""
    groups: list[list[np.ndarray]] = []
    for raw in embeddings:
        vec = np.asarray(raw)
        home = min(groups, key=lambda g: float(np.linalg.norm(np.mean(g, 0) - vec)),
                   default=None)
        if home is not None and np.linalg.norm(np.mean(home, 0) - vec) < SAME_PERSON * 0.8:
            home.append(vec)
        else:
            groups.append([vec])
    biggest = max(groups, key=len, default=[])
    if len(biggest) < min_count:
        return None
    return [float(v) for v in np.mean(biggest, 0)]


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
