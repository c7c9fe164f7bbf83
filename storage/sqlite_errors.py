"""sqlite3 errors into StorageError, in words a user can act on, naming the database file."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from storage.errors import StorageError

# Primary result codes (https://www.sqlite.org/rescode.html); extended codes keep them
# in the low byte.
_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT = 5, 6, 8, 10, 11
_FULL, _CANTOPEN, _CONSTRAINT, _NOTADB = 13, 14, 19, 26
# Opening a WAL database first makes room for its -shm file: on a full disk that fails with
# this I/O code, not SQLITE_FULL, before a single page is read.
_IOERR_SHMSIZE = _IOERR | (19 << 8)


def describe(exc: sqlite3.Error, path: Path) -> str:
    """A plain message for ``exc`` raised while using the database at ``path``."""
    extended = getattr(exc, "sqlite_errorcode", None) or 0
    code = extended & 0xFF
    text = str(exc)
    if code in (_BUSY, _LOCKED) or "locked" in text:
        return (f"{path}: the database is locked by another process and stayed locked; "
                "try again when it has finished (is another armswatch running?)")
    if code == _FULL or extended == _IOERR_SHMSIZE or "disk is full" in text:
        return (f"{path}: the disk is full (or the database reached its size limit); "
                "free some space and try again - nothing of the failed write was saved")
    if code == _READONLY or "readonly" in text:
        return f"{path}: the database is read-only; check the permissions of the file and folder"
    if code == _NOTADB or "not a database" in text:
        return f"{path}: this file is not an SQLite database (wrong path, or a damaged file)"
    if code == _CORRUPT or "malformed" in text:
        return f"{path}: the database file is damaged (corrupt); restore it from a backup"
    if code == _IOERR or "disk I/O error" in text:
        return f"{path}: disk I/O error while reading or writing the database"
    if code == _CANTOPEN or "unable to open" in text:
        return (f"{path}: cannot open the database file; check that the path is a file "
                "in a folder you can write to")
    if code == _CONSTRAINT or isinstance(exc, sqlite3.IntegrityError):
        return f"{path}: refused to store invalid data ({text}); nothing of this write was saved"
    return f"{path}: database error: {text}"


@contextmanager
def translated(path: Path) -> Iterator[None]:
    """Raise StorageError instead of any sqlite3 error inside the block."""
    try:
        yield
    except sqlite3.Error as exc:
        raise StorageError(describe(exc, path)) from exc
