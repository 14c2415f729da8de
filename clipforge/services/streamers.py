"""A streamer's defaults for new streams (layout, caption style, a fixed facecam), as
the CLI and the API set them."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from clipforge.services.checks import check_streamer_settings
from clipforge.storage.models import DEFAULT_WORKSPACE, StreamerRow, WorkspaceRow
from clipforge.storage.repository import one_or_add


def find_streamer(s: Session, name: str, workspace_id: int | None = None) -> StreamerRow:
    """The workspace's streamer named so (`default`'s without one), made if new."""
    if workspace_id is None:
        workspace_id = s.scalar(select(WorkspaceRow.id).where(
            WorkspaceRow.name == DEFAULT_WORKSPACE))
    return one_or_add(s, StreamerRow, {"settings": {}}, name=name,
                      workspace_id=workspace_id)


def update_streamer(s: Session, name: str, prefs: Mapping[str, object | None],
                    workspace_id: int | None = None) -> StreamerRow:
    """The streamer named so (made if new), with the given settings changed (None: kept)."""
    given = check_streamer_settings({k: v for k, v in prefs.items() if v is not None})
    row = find_streamer(s, name, workspace_id)
    row.settings = {**(row.settings or {}), **given}
    s.flush()
    return row
