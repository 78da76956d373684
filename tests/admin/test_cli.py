"""`flask create-admin NAME --role admin|moderator [--password-stdin]`."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from werkzeug.security import check_password_hash

from app.extensions import db
from app.models import Staff
from tests.admin.factories import log_in


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def _staff(app, name) -> Staff | None:
    with app.app_context():
        return db.session.scalar(sa.select(Staff).where(Staff.username == name))


def test_create_admin_reads_one_line_from_stdin(app, runner):
    result = runner.invoke(args=["create-admin", "ann", "--role", "admin", "--password-stdin"],
                           input="a long enough password\nthis second line is not read\n")
    assert result.exit_code == 0, result.output
    assert "created admin 'ann'" in result.output
    staff = _staff(app, "ann")
    assert staff.role == "admin" and staff.password_hash.startswith("scrypt:")
    assert check_password_hash(staff.password_hash, "a long enough password")
    assert log_in(app.test_client(), "ann", "a long enough password").status_code == 302


def test_create_admin_prompts_twice_without_echo(app, runner):
    result = runner.invoke(args=["create-admin", "ben", "--role", "moderator"],
                           input="typed twice, hidden\ntyped twice, hidden\n")
    assert result.exit_code == 0, result.output
    assert "typed twice" not in result.output  # hidden input is not echoed
    assert result.output.count("Password") == 1 and "Repeat for confirmation" in result.output
    assert _staff(app, "ben").role == "moderator"


def test_create_admin_refuses_two_different_entries(app, runner):
    result = runner.invoke(args=["create-admin", "cai", "--role", "moderator"],
                           input="first entry here\nsecond differs\n")
    assert result.exit_code != 0 and _staff(app, "cai") is None


def test_create_admin_refuses_a_weak_password(app, runner):
    result = runner.invoke(args=["create-admin", "dan", "--role", "admin", "--password-stdin"], input="short\n")
    assert result.exit_code == 1
    assert "至少 10 个字符" in result.output and _staff(app, "dan") is None


def test_create_admin_refuses_a_duplicate_name(app, runner):
    args = ["create-admin", "eve", "--role", "moderator", "--password-stdin"]
    assert runner.invoke(args=args, input="the first password\n").exit_code == 0
    again = runner.invoke(args=args, input="another password!\n")
    assert again.exit_code == 1 and "eve 已存在" in again.output
    assert check_password_hash(_staff(app, "eve").password_hash, "the first password")


@pytest.mark.parametrize("args, stdin", [
    (["create-admin", "fay", "--role", "root", "--password-stdin"], "a long enough password\n"),
    (["create-admin", "fay", "--password-stdin"], "a long enough password\n"),
    (["create-admin", "fay", "--role", "admin", "--password-stdin"], ""),
    (["create-admin", "f a y", "--role", "admin", "--password-stdin"], "a long enough password\n"),
])
def test_create_admin_refuses_bad_arguments(app, runner, args, stdin):
    result = runner.invoke(args=args, input=stdin)
    assert result.exit_code != 0
    assert _staff(app, "fay") is None
