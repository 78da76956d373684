"""Photo files on local disk under UPLOAD_DIR, with names the user never chooses.

A file is written completely (temp file, fsync, rename) before the database row that owns it
commits, so a crash can never leave a record without its file; a crash between the two leaves a
file no row owns, which `sweep_orphans` (run by `flask purge`) removes once it is old enough.
"""

from __future__ import annotations

import errno
import os
import secrets
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from flask import current_app

from app.errors import DomainError, NotFound


class StorageFull(DomainError):
    status, code, message = 507, "storage_full", "存储空间不足，请稍后再试"


class LocalStorage:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not (len(key) == 32 and all(c in "0123456789abcdef" for c in key)):
            raise NotFound()
        return self.root / key[:2] / key

    def save(self, data: bytes) -> str:
        key = secrets.token_hex(16)
        path = self._path(key)
        temp = self.root / ".incoming" / f"{key}.part"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temp.parent.mkdir(parents=True, exist_ok=True)
            with open(temp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageFull() from exc
            raise
        return key

    def open(self, key: str) -> IO[bytes]:
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError:
            raise NotFound() from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def keys_older_than(self, seconds: float) -> Iterable[str]:
        cutoff = time.time() - seconds
        for folder in self.root.glob("[0-9a-f][0-9a-f]"):
            for path in folder.iterdir():
                if path.stat().st_mtime < cutoff:
                    yield path.name
        for temp in (self.root / ".incoming").glob("*.part"):
            if temp.stat().st_mtime < cutoff:
                temp.unlink(missing_ok=True)


def storage() -> LocalStorage:
    return LocalStorage(current_app.config["UPLOAD_DIR"])
