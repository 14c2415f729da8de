"""Publishing to YouTube Shorts, X, TikTok and Instagram Reels over their documented HTTP
protocols.

`base` holds the small interface, `youtube`, `x`, `tiktok` and `instagram` the
platforms, `oauth` connecting accounts and refreshing their tokens, `secrets` the tokens'
encryption at rest, and `templates` the text that goes with a clip. Nothing here touches
the database: the runtime (`jobs/publish.py`) hands in a checkpoint to record progress
durably.
"""

PLATFORMS = ("youtube", "x", "tiktok", "instagram")
PLATFORM_NAMES = {"youtube": "YouTube", "x": "X", "tiktok": "TikTok",
                  "instagram": "Instagram"}  # as people write them
CHOICES = "youtube, x, tiktok or instagram (one or more)"  # what an option may name
