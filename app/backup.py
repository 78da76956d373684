"""`flask --app wsgi backup DEST`: a consistent online copy of a SQLite database and its photos.

The database is copied with SQLite's backup API in one step: one read snapshot, taken while the app keeps
serving (WAL: readers never block writers). The photos copied are the ones the copied database refers
to, so the two match; each file is read back and checked after it is written, and manifest.json lists
the row counts, sizes and SHA-256 of everything. PostgreSQL and MySQL have their own tools for this.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import click
from flask.cli import with_appcontext

from app.errors import NotFound
from app.extensions import db
from app.services.storage import storage

DATABASE_FILE = "database.sqlite3"
PHOTOS_FOLDER = "photos"  # laid out as UPLOAD_DIR is: <key[:2]>/<key>
MANIFEST = "manifest.json"
SERVER_TOOLS = {"postgresql": "pg_dump (e.g. `pg_dump -Fc -f carbon.dump DBNAME`)",
                "mysql": "mariadb-dump or mysqldump (e.g. `mariadb-dump --single-transaction DBNAME`)"}


class BackupRefused(click.ClickException):
    pass


@click.command("backup")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def backup_command(dest: Path) -> None:
    """Copy the SQLite database and the photos it refers to into DEST (a new or empty folder)."""
    manifest = make_backup(dest)
    photos = manifest["photos"]
    click.echo(f"backup written to {dest}: database {manifest['database']['bytes']} bytes "
               f"({sum(manifest['database']['rows'].values())} rows), {photos['count']} photos "
               f"({photos['bytes']} bytes); integrity_check ok")
    if photos["missing"]:
        click.echo(f"warning: {len(photos['missing'])} photo files referenced by the database were not found "
                   f"(listed in {MANIFEST} under photos.missing)", err=True)


def make_backup(dest: Path) -> dict:
    engine = db.engine
    if engine.dialect.name != "sqlite":
        tool = SERVER_TOOLS.get(engine.dialect.name, "the database's own dump tool")
        raise BackupRefused(f"backup copies SQLite databases only; this app uses {engine.dialect.name}: "
                            f"back it up with {tool}, and copy the photo storage separately")
    source = engine.url.database
    if not source or source == ":memory:":
        raise BackupRefused("the SQLite database is in memory: there is no file to back up")
    if dest.exists() and any(dest.iterdir()):
        raise BackupRefused(f"{dest} is not empty: give a new folder, so no earlier backup is overwritten")
    dest.mkdir(parents=True, exist_ok=True)

    copy = dest / DATABASE_FILE
    _copy_database(source, copy)
    rows, keys = _check_copy(copy)
    photos = _copy_photos(keys, dest / PHOTOS_FOLDER)
    manifest = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": os.path.abspath(source),
        "database": {"file": DATABASE_FILE, "bytes": copy.stat().st_size, "sha256": _sha256_file(copy),
                     "rows": rows},
        "photos": photos,
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest


def _copy_database(source: str, target: Path) -> None:
    with sqlite3.connect(source, timeout=30) as src, sqlite3.connect(target) as dst:
        src.backup(dst)  # all pages in one step: a single consistent snapshot
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    src.close()
    dst.close()


def _check_copy(copy: Path) -> tuple[dict[str, int], list[str]]:
    """integrity_check on the copy, its row count per table, and the photo keys it refers to."""
    with sqlite3.connect(f"{copy.resolve().as_uri()}?mode=ro", uri=True) as conn:
        result = conn.execute("PRAGMA integrity_check").fetchall()
        if result != [("ok",)]:
            raise click.ClickException(f"the copied database fails integrity_check: {result[:5]}")
        tables = [name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        rows = {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in tables}
        keys = [key for (key,) in conn.execute(
            "SELECT storage_key FROM photos WHERE storage_key IS NOT NULL ORDER BY id")]
    conn.close()
    return rows, keys


def _copy_photos(keys: list[str], folder: Path) -> dict:
    """Copy each photo, then read the copy back and compare digests."""
    store = storage()
    files, missing = {}, []
    for key in keys:
        target = folder / key[:2] / key
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            source = store.open(key)
        except NotFound:
            missing.append(key)  # erased after the snapshot (account deleted, retention): the copy says so
            continue
        digest = hashlib.sha256()
        with source, open(target, "wb") as out:
            while chunk := source.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if _sha256_file(target) != digest.hexdigest():
            raise click.ClickException(f"photo {key}: the copy does not read back as written")
        files[key] = {"bytes": target.stat().st_size, "sha256": digest.hexdigest()}
    return {"folder": PHOTOS_FOLDER, "count": len(files), "bytes": sum(f["bytes"] for f in files.values()),
            "files": files, "missing": missing}


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
