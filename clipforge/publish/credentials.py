"""A connected account's tokens, unsealed as credentials that refresh themselves and
store what they refreshed; an account the platform revoked is marked so."""

from __future__ import annotations

import httpx

from clipforge import errors
from clipforge.config import Settings, secret_key
from clipforge.publish import PLATFORM_NAMES, oauth, secrets
from clipforge.storage.models import AccountRow
from clipforge.storage.repository import Repository


def credentials(repo: Repository, settings: Settings, client: httpx.Client,
                account: AccountRow) -> oauth.Credentials:
    label = f"{PLATFORM_NAMES.get(account.platform, account.platform)} account {account.name}"
    if account.status != "connected":
        raise errors.AccountRevoked(f"{label}: {account.error or 'disconnected'}; connect "
                                    "it again on the Streamers page or with `clipforge "
                                    f"account connect {account.platform}`")
    key = secret_key(settings)
    tokens = oauth.Tokens.from_json(secrets.unseal(key, account.tokens, label))
    account_id = account.id

    def save(fresh: oauth.Tokens) -> None:
        with repo.session() as s:
            s.get_one(AccountRow, account_id).tokens = secrets.seal(key, fresh.to_json())

    def load() -> oauth.Tokens:
        with repo.session() as s:
            sealed = s.get_one(AccountRow, account_id).tokens
        return oauth.Tokens.from_json(secrets.unseal(key, sealed, label))

    return oauth.Credentials(client, oauth.provider(settings, account.platform), tokens,
                             label, save, load)


def mark_revoked(repo: Repository, account_id: int, message: str) -> None:
    with repo.session() as s:
        row = s.get(AccountRow, account_id)
        if row is not None:
            row.status, row.error = "revoked", message
