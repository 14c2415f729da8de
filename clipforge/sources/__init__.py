"""Where streams come from: yt-dlp downloads, Twitch chat replays, chat files."""
