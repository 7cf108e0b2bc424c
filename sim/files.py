"""Files ccsim reads and writes: bounded reads, atomic writes, output paths checked up front.

Every file ccsim writes goes through ``atomic_path`` (or the two helpers built on it):
the content goes to a temporary file in the target's folder, which replaces the target
only once it is complete, so an interrupted or failed write leaves the previous file (or
none), never a truncated one. Output paths are checked before a run starts
(``check_output_file``, ``check_output_folder``), so a mistyped path costs nothing.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from sim.errors import UsageError
from sim.limits import LIFT

MB = 2**20


class ReadError(ValueError):
    """A file that cannot be read as text. The message says why, never what the file holds
    (a path in a scenario may name any file on the machine)."""

    def __init__(self, reason: str, *, missing: bool = False) -> None:
        super().__init__(reason)
        self.missing = missing


def check_regular_file(path: Path, limit: float, *, lifted_by: str = "") -> None:
    """Raise ``ReadError`` unless ``path`` is a regular file of at most ``limit`` bytes by
    its size: devices, pipes and sockets are refused before opening (``/dev/zero`` never
    ends and a pipe blocks), and so is a file too large, before any of it is read.
    ``lifted_by`` names the option that lifts the limit, for the message."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ReadError("not found", missing=True) from None
    except OSError as exc:
        raise ReadError(f"cannot be read: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ReadError("is a folder")
    if not stat.S_ISREG(info.st_mode):
        raise ReadError("is not a regular file (a device, pipe or socket)")
    if info.st_size > limit:
        raise ReadError(too_large(limit, lifted_by))


def too_large(limit: float, lifted_by: str = "") -> str:
    """``is larger than the limit of 16 MB, which LIFTED_BY lifts``."""
    lift = f", which {lifted_by} lifts" if lifted_by else ""
    return f"is larger than the limit of {limit / MB:g} MB{lift}"


def read_text(path: Path, limit: float, *, lifted_by: str = "") -> str:
    """The UTF-8 text of the regular file ``path``, at most ``limit`` bytes.

    ``check_regular_file`` first; then at most ``limit + 1`` bytes are read whatever the
    file claims to hold (``/proc`` files say 0). ``lifted_by`` names the option that lifts
    the limit, for the message. Raises ``ReadError``.
    """
    check_regular_file(path, limit, lifted_by=lifted_by)
    try:
        with path.open("rb") as handle:
            data = handle.read(int(min(limit, 2**62)) + 1)
    except FileNotFoundError:
        raise ReadError("not found", missing=True) from None
    except OSError as exc:
        raise ReadError(f"cannot be read: {exc.strerror}") from None
    if len(data) > limit:
        raise ReadError(too_large(limit, lifted_by))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReadError(f"is not UTF-8 text (byte {exc.start})") from None


def read_data_file(path: Path, what: str, allowed: str, limit: float) -> str:
    """The text of a data file a scenario names (``what``: samples file, arrival trace),
    at most ``limit`` bytes; ``ValueError`` says what is wrong and ``allowed``."""
    try:
        return read_text(path, limit, lifted_by=LIFT)
    except ReadError as exc:
        if exc.missing:
            raise ValueError(f"{what} {str(path)!r} not found; allowed: a path relative to the "
                             "scenario's folder, or an absolute path") from None
        raise ValueError(f"cannot read {what} {str(path)!r}: {exc}; allowed: {allowed}") from None


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``.

    For writers that open the file themselves (matplotlib, csv writers given a path).
    On any exception, Ctrl-C included, the temporary file is removed and ``path`` is
    left as it was.
    """
    path = Path(path)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        temporary.chmod(_mode_of(path))
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _mode_of(path: Path) -> int:
    """The permissions a plain ``open(path, "w")`` would leave: the existing file's, else
    0o666 less the umask (``mkstemp`` makes files readable by their owner only)."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextmanager
def open_atomic(path: str | Path, mode: str = "w", **options: Any) -> Iterator[IO[Any]]:
    """``open(path, mode)`` for writing, atomically: the file object writes a temporary
    file that replaces ``path`` (after an fsync) when the block ends without an exception.

    ``options`` go to ``open`` (``encoding``, ``newline``). ::

        with open_atomic(out, newline="") as handle:
            csv.writer(handle).writerows(rows)
    """
    if "b" not in mode:
        options.setdefault("encoding", "utf-8")
    with atomic_path(path) as temporary, temporary.open(mode, **options) as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


def write_atomic(path: str | Path, content: str | bytes) -> None:
    """Write ``content`` (text as UTF-8) to ``path`` atomically (see ``open_atomic``)."""
    with open_atomic(path, "wb" if isinstance(content, bytes) else "w") as handle:
        handle.write(content)


def check_output_file(path: str | Path, flag: str) -> None:
    """Raise ``UsageError`` naming ``flag`` unless ``path`` can be written as a file:
    its folder exists and is writable, and it is not itself a folder."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{flag} {path}: is a folder; allowed: a file path")
    _check_writable_folder(path.parent, f"{flag} {path}", "the folder of the file")


def check_output_folder(path: str | Path, flag: str) -> None:
    """Raise ``UsageError`` naming ``flag`` unless ``path`` is a writable folder or can be
    created as one (its nearest existing ancestor is a writable folder)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{flag} {path}: is a file; allowed: a folder (created if missing)")
    existing = next(p for p in (path, *path.absolute().parents) if p.exists())
    _check_writable_folder(existing, f"{flag} {path}", "the folder")


def _check_writable_folder(folder: Path, where: str, what: str) -> None:
    if not folder.is_dir():
        raise UsageError(f"{where}: {what} {folder} is not an existing folder; allowed: a "
                         "path in an existing folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{where}: {what} {folder} is not writable; allowed: a path in a "
                         "folder you may write to")


def safe_file_name(name: str, default: str) -> str:
    """``name`` as one file name in the current folder: characters other than letters,
    digits, ``.``, ``_`` and ``-`` become ``_``, leading and trailing dots and ``_`` are
    dropped (no ``..``, no hidden file, no path), ``default`` if nothing is left."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or default
