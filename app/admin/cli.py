"""`flask create-admin NAME --role admin|moderator [--password-stdin]`."""

from __future__ import annotations

import sys

import click
from flask import Flask

from app.errors import DomainError
from app.models import StaffRole
from app.services import staff as staff_service


def register_commands(app: Flask) -> None:
    @app.cli.command("create-admin")
    @click.argument("name")
    @click.option("--role", type=click.Choice(StaffRole.ALL), required=True,
                  help="moderator: reviews photos; admin: also reads the audit log.")
    @click.option("--password-stdin", is_flag=True,
                  help="Read the password from the first line of standard input instead of prompting.")
    def create_admin(name: str, role: str, password_stdin: bool) -> None:
        """Create a staff account of the web admin (/admin)."""
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise click.ClickException("no password on standard input")
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            staff = staff_service.create_staff(name, password, role)
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
        click.echo(f"created {staff.role} {staff.username!r} (id {staff.id})")
