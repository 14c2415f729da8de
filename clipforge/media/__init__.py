"""The one place that builds ffmpeg and ffprobe command lines."""
