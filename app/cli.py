"""Operator commands: `flask --app wsgi purge` (daily from cron)."""

from __future__ import annotations

import click
from flask import Flask

from app.services import idempotency, photos, staff, trips


def register_commands(app: Flask) -> None:
    @app.cli.command("purge")
    def purge() -> None:
        """Drop expired idempotency keys, staff sessions and login attempts, reduce GPS tracks past their
        retention to their summary, and delete photo files no record owns (a crash before commit)."""
        keys = idempotency.purge_expired()
        tracks = trips.purge_old_tracks()
        orphans = photos.sweep_orphans()
        attempts, sessions = staff.purge_expired()
        click.echo(f"expired idempotency keys removed: {keys}; tracks reduced to summary: {tracks}; "
                   f"orphan photo files removed: {orphans}; old login attempts removed: {attempts}; "
                   f"expired staff sessions removed: {sessions}")
