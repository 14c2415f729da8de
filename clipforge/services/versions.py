"""A clip's versions: its state after each edit, approval or rejection, kept so the editor
can list them and undo the last one.

Version 0 is the clip as it was before the first of them (as picked, or as an older
version of ClipForge left it). Undo marks the newest version not yet undone as undone and
puts the clip back in the state of the one before it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clipforge import errors
from clipforge.storage.models import ClipRow, ClipVersionRow

# What a version keeps: the fields a person changes (edits) and the review status.
EDITABLE = ("start", "end", "peak", "title", "layout", "caption_style", "regions",
            "captions", "caption_edits")
FIELDS = (*EDITABLE, "status")
REVIEWED = ("approved", "rejected")


def state(clip: ClipRow) -> dict[str, Any]:
    return {name: getattr(clip, name) for name in FIELDS}


def _latest(s: Session, clip_id: str) -> int | None:
    return s.scalar(select(func.max(ClipVersionRow.number))
                    .where(ClipVersionRow.clip_id == clip_id))


def before_change(s: Session, clip: ClipRow, action: str = "picked",
                  by: str | None = None) -> None:
    """Keep the clip's state before its first recorded change, as version 0 (ACTION:
    picked, or made by hand)."""
    if _latest(s, clip.id) is None:
        s.add(ClipVersionRow(clip_id=clip.id, number=0, action=action, changes=[],
                             state=state(clip), by=by, undone=False))
        s.flush()


def record(s: Session, clip: ClipRow, action: str, changes: list[str],
           by: str | None) -> ClipVersionRow:
    """Keep the clip's state after an edit, approval or rejection (call before_change
    first, before the clip's fields change)."""
    number = (_latest(s, clip.id) or 0) + 1
    row = ClipVersionRow(clip_id=clip.id, number=number, action=action, changes=changes,
                         state=state(clip), by=by, undone=False)
    s.add(row)
    s.flush()
    return row


def listed(s: Session, clip_id: str) -> list[ClipVersionRow]:
    """The clip's versions, newest first."""
    return list(s.scalars(select(ClipVersionRow).where(ClipVersionRow.clip_id == clip_id)
                          .order_by(ClipVersionRow.number.desc())))


def undo(s: Session, clip: ClipRow) -> tuple[ClipVersionRow, dict[str, Any]]:
    """Mark the last version not undone as undone; returns it and the state to go back to
    (the clip's fields are the caller's to set: an edit needs a render)."""
    live = [v for v in listed(s, clip.id) if not v.undone]
    if len(live) < 2:
        raise errors.Conflict(f"clip {clip.id} has nothing to undo")
    last, previous = live[0], live[1]
    last.undone = True
    return last, dict(previous.state)


def changed(clip: ClipRow, target: dict[str, Any]) -> list[str]:
    """The editable fields whose value differs from TARGET (a version's state)."""
    return [name for name in EDITABLE if name in target and getattr(clip, name) != target[name]]
