"""Operator commands: `flask --app wsgi purge` (daily from cron)."""

from __future__ import annotations

import click
from flask import Flask

from app.services import idempotency, photos, trips


def register_commands(app: Flask) -> None:
    @app.cli.command("purge")
    def purge() -> None:
        """Drop expired idempotency keys, reduce GPS tracks past their retention to their summary, and
        delete photo files that no record owns (left by a crash between writing and committing)."""
        keys = idempotency.purge_expired()
        tracks = trips.purge_old_tracks()
        orphans = photos.sweep_orphans()
        click.echo(f"expired idempotency keys removed: {keys}; tracks reduced to summary: {tracks}; "
                   f"orphan photo files removed: {orphans}")
