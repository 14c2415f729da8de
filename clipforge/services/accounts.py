"""Connected platform accounts: stored with their tokens encrypted, read back as
credentials that refresh themselves (and store what they refreshed)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from clipforge.config import Settings, secret_key
from clipforge.publish import instagram, oauth, secrets, tiktok, x, youtube
from clipforge.services.streamers import find_streamer
from clipforge.storage.models import AccountRow
from clipforge.storage.repository import Repository


@dataclass(frozen=True)
class Connected:
    id: int
    platform: str
    name: str
    streamer: str


def account_for(s: Session, streamer_id: int, platform: str) -> AccountRow | None:
    """The streamer's account on the platform: the newest one connected."""
    return s.scalar(select(AccountRow).where(
        AccountRow.streamer_id == streamer_id, AccountRow.platform == platform)
        .order_by(AccountRow.status != "connected", AccountRow.id.desc()).limit(1))


def connect(repo: Repository, settings: Settings, platform: str, streamer: str, code: str,
            redirect_uri: str, verifier: str, workspace_id: int | None = None) -> Connected:
    """Finish an authorization: trade the code for tokens, ask the platform whose account
    it is, and store it (encrypted) for the streamer, replacing an earlier connection."""
    found = oauth.provider(settings, platform)
    with httpx.Client(timeout=settings.publish_timeout_seconds) as client:
        tokens = oauth.exchange(client, found, code, redirect_uri, verifier)
        holder = [tokens]
        auth = oauth.Credentials(client, found, tokens, f"{found.label} account",
                                 holder.append)
        who = {"youtube": youtube.whoami, "x": x.whoami, "tiktok": tiktok.whoami,
               "instagram": instagram.whoami}[platform]
        external_id, name = who(client, auth, settings)
    key = secret_key(settings)
    with repo.session() as s:
        owner = find_streamer(s, streamer, workspace_id)
        row = s.scalar(select(AccountRow).where(AccountRow.platform == platform,
                                                AccountRow.name == name,
                                                AccountRow.workspace_id == owner.workspace_id))
        if row is None:  # the same channel in another workspace is another row
            row = AccountRow(platform=platform, name=name, workspace_id=owner.workspace_id)
            s.add(row)
        row.streamer_id, row.external_id = owner.id, external_id
        row.tokens = secrets.seal(key, holder[-1].to_json())
        row.status, row.error = "connected", None
        s.flush()
        return Connected(row.id, platform, name, owner.name)
