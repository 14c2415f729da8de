"""Publishing to YouTube Shorts and X over their documented HTTP protocols.

`base` holds the small interface, `youtube` and `x` the two platforms, `oauth` connecting
accounts and refreshing their tokens, `secrets` the tokens' encryption at rest, and
`templates` the text that goes with a clip. Nothing here touches the database: the
runtime (`jobs/publish.py`) hands in a checkpoint to record progress durably.
"""

PLATFORMS = ("youtube", "x")
PLATFORM_NAMES = {"youtube": "YouTube", "x": "X"}  # as people write them
