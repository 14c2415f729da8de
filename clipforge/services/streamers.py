"""A streamer's defaults for new streams (layout, caption style, a fixed facecam), as
the CLI and the API set them."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from clipforge.services.checks import check_streamer_settings
from clipforge.storage.models import StreamerRow


def find_streamer(s: Session, name: str) -> StreamerRow:
    """The streamer named so, made if new."""
    row = s.scalar(select(StreamerRow).where(StreamerRow.name == name))
    if row is None:
        row = StreamerRow(name=name, settings={})
        s.add(row)
        s.flush()
    return row


def update_streamer(s: Session, name: str, prefs: Mapping[str, object | None]) -> StreamerRow:
    """The streamer named so (made if new), with the given settings changed (None: kept)."""
    given = {k: v for k, v in prefs.items() if v is not None}
    check_streamer_settings(given)
    row = find_streamer(s, name)
    row.settings = {**(row.settings or {}), **given}
    s.flush()
    return row
