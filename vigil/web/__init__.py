"""The web UI's templates and static files (served by vigil.api)."""
