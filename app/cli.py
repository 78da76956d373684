"""Operator commands: `flask --app wsgi purge` (daily from cron), `send-digest` (weekly)."""

from __future__ import annotations

import click
from flask import Flask

from app.backup import backup_command
from app.services import idempotency, photos, privacy, staff, trips


def register_commands(app: Flask) -> None:
    app.cli.add_command(backup_command)  # `flask backup DEST` (app/backup.py)

    @app.cli.command("purge")
    def purge() -> None:
        """Drop expired idempotency keys, staff sessions and login attempts, reduce GPS tracks past their
        retention to their summary, erase photo files past their retention (PHOTO_RETENTION_DAYS after
        the decision) and delete photo files no record owns (a crash before commit)."""
        keys = idempotency.purge_expired()
        tracks = trips.purge_old_tracks()
        erased = privacy.erase_expired_photos()
        orphans = photos.sweep_orphans()
        attempts, sessions = staff.purge_expired()
        click.echo(f"expired idempotency keys removed: {keys}; tracks reduced to summary: {tracks}; "
                   f"photo files past retention erased: {erased}; orphan photo files removed: {orphans}; "
                   f"old login attempts removed: {attempts}; expired staff sessions removed: {sessions}")

    @app.cli.command("send-digest")
    def send_digest() -> None:
        """Send each WeChat user this week's grams and their top reduction suggestion (weekly, from cron)."""
        from flask import current_app

        from app.services import suggestions

        template_id = current_app.config.get("WECHAT_DIGEST_TEMPLATE_ID")
        if not template_id or not current_app.extensions["wechat"].appid:
            click.echo("WECHAT_DIGEST_TEMPLATE_ID (and WECHAT_APPID/WECHAT_SECRET) not set: no digest sent")
            return
        result = suggestions.send_weekly_digest(template_id)
        click.echo(f"digests sent: {result.sent}; no subscription left: {result.no_subscription}; "
                   f"failed: {result.failed}")
