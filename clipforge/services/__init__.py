"""What the CLI and the API call: submit, edit, review, publish, streamers, accounts."""
