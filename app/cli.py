"""Operator commands: `flask --app wsgi purge` (daily from cron)."""

from __future__ import annotations

import click
from flask import Flask

from app.services import idempotency, trips


def register_commands(app: Flask) -> None:
    @app.cli.command("purge")
    def purge() -> None:
        """Drop expired idempotency keys; reduce GPS tracks past their retention to their summary."""
        keys = idempotency.purge_expired()
        tracks = trips.purge_old_tracks()
        click.echo(f"expired idempotency keys removed: {keys}; tracks reduced to summary: {tracks}")
