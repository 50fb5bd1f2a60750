"""Recording: each camera's own stream remuxed into short fragmented-MP4 segments (no
re-encoding), indexed in the database with the gaps between them; playback, evidence locks,
signed evidence export and its verification, and redaction of bystanders' faces."""
