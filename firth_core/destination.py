"""What a writer may put at its destination, and replacing it without a moment where neither
version exists.

A command replaces only what it writes itself: `firth train` and `firth import` a firth model
directory, `firth export` a regular file. Anything else at the destination -- a device, a FIFO,
a socket, a symbolic link, a file where a directory goes, a directory that is not a firth model
or holds entries firth did not write -- is refused with one ArtifactError and left as it is.
A firth model directory may hold only the files its meta.json lists, meta.json itself and the
service's `index/` cache (HNSW files, a large model's unit vectors and norms, all rebuilt from the
vectors); one stray file and it is refused.
An empty directory holds nothing to lose and is replaced too.

The new version is built under a temporary sibling name. On Linux the two are swapped with
renameat2(RENAME_EXCHANGE), so the destination always names a whole old or new version; where
that call is missing the old one is renamed aside and the new one renamed in, so a crash between
the two leaves both on disk (the old one as `.NAME.old-XXXXXXXX`), never neither. Either way the
entry swapped out is checked again -- the same inode, still replaceable -- before it is deleted,
and put back if it is not.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import shutil
import signal
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from firth_core.errors import ArtifactError

Kind = Literal["model", "file"]

MODEL_FORMAT = "firth-model"
META_FILE = "meta.json"
MODEL_FILES = ("vectors.npy", "vocab.txt", META_FILE)
INDEX_DIR = "index"  # the service's HNSW cache inside a model directory (service/registry.py)
_INDEX_SUFFIXES = (".faiss", ".json", ".lock")
# a large model's unit vectors and norms, saved there by the service (service/unit_store.py)
INDEX_FILES = ("unit-vectors.npy", "norms.npy")
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
_LEFT_ALONE = "--overwrite replaces only a firth model directory, so it was left alone"
_UNSUPPORTED = (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP)


def describe(mode: int) -> str:
    """What a file is, from its st_mode, for error messages."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_plain_name(name: object, where: str) -> str:
    """A file name in meta.json: a plain name of a file inside the model directory, nothing else."""
    if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\\" in name or "\x00" in name:
        raise ArtifactError(f"{where}: file name {name!r} is not a plain name inside the model directory")
    return name


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):  # the latter: a file among the parents
        return None


def _model_files(directory: Path, shown: Path) -> set[str]:
    """The entries a firth model directory may hold, from its meta.json; raise when it is not one."""
    meta_path = directory / META_FILE
    meta_stat = _lstat(meta_path)
    if meta_stat is None or not stat.S_ISREG(meta_stat.st_mode):
        raise ArtifactError(f"{shown}: not a firth model directory (no {META_FILE}); {_LEFT_ALONE}")
    try:
        meta = json.loads(meta_path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        meta = None
    if not isinstance(meta, dict) or meta.get("format") != MODEL_FORMAT:
        raise ArtifactError(
            f"{shown}: not a firth model directory ({META_FILE} does not say so); {_LEFT_ALONE}"
        )
    files = meta.get("files")
    names = set(MODEL_FILES)
    if isinstance(files, dict):
        names.update(check_plain_name(name, str(shown / META_FILE)) for name in files)
    return names


def _check_model_dir(directory: Path, shown: Path) -> None:
    """Raise unless `directory` is empty or holds a firth model and nothing firth did not write."""
    if not any(os.scandir(directory)):
        return  # nothing in it to lose
    allowed = _model_files(directory, shown)
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        mode = entry.stat(follow_symlinks=False).st_mode
        if entry.name in allowed and stat.S_ISREG(mode):
            continue
        if entry.name == INDEX_DIR and stat.S_ISDIR(mode):
            for item in os.scandir(entry.path):
                if not (
                    item.is_file(follow_symlinks=False)
                    and (
                        item.name.endswith(_INDEX_SUFFIXES)
                        or item.name in INDEX_FILES
                        or ".tmp-" in item.name
                    )
                ):
                    raise ArtifactError(
                        f"{shown}: holds {INDEX_DIR}/{item.name}, which firth did not write; {_LEFT_ALONE}"
                    )
            continue
        what = "" if entry.name in allowed else ", which firth did not write"
        raise ArtifactError(f"{shown}: holds {entry.name} ({describe(mode)}{what}); {_LEFT_ALONE}")


def _check_type(found: os.stat_result, kind: Kind, shown: Path) -> None:
    """Raise unless the entry is of the type this writer makes: a directory, or a regular file."""
    if kind == "model" and not stat.S_ISDIR(found.st_mode):
        raise ArtifactError(
            f"{shown}: is {describe(found.st_mode)}, not a firth model directory; it was left alone"
        )
    if kind == "file" and not stat.S_ISREG(found.st_mode):
        raise ArtifactError(f"{shown}: is {describe(found.st_mode)}, not a regular file; it was left alone")


def _check_replaceable(path: Path, found: os.stat_result, kind: Kind, shown: Path) -> None:
    """Raise unless the entry at `path` (lstat `found`; named `shown` in messages) may be replaced."""
    _check_type(found, kind, shown)
    if kind == "model":
        _check_model_dir(path, shown)
    elif _is_model_file(shown):
        raise ArtifactError(
            f"{shown}: is a file of the firth model {shown.parent}; write the export elsewhere"
        )


def _is_model_file(path: Path) -> bool:
    """True when `path` is one of the files of the firth model directory it sits in."""
    try:
        return path.name in _model_files(path.parent, path.parent)
    except ArtifactError:
        return False


def check_destination(
    out: str | os.PathLike[str], overwrite: bool = False, kind: Kind = "model"
) -> os.stat_result | None:
    """Fail early, with one clear message, when `out` cannot be written: something is there (and
    overwrite is off, or it is not what this writer makes), or the nearest existing ancestor is
    not a writable directory. Returns what is there now (lstat), None when nothing; creates nothing."""
    target = Path(out)
    found = _lstat(target)
    if found is not None:
        _check_type(found, kind, target)
        if not overwrite:
            raise ArtifactError(f"{target}: already exists (pass --overwrite to replace it)")
        _check_replaceable(target, found, kind, shown=target)
    ancestor = target.absolute().parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ArtifactError(f"{target}: cannot create it under {ancestor}, which is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ArtifactError(f"{target}: {ancestor} is not writable")
    return found


def temporary_sibling(target: Path, tag: str) -> Path:
    """A hidden name beside `target` (the same file system, so renames are atomic)."""
    return target.parent / f".{target.name}.{tag}-{uuid.uuid4().hex[:8]}"


def _renameat2() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    try:
        func = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return None
    func.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
    func.restype = ctypes.c_int
    return func


_RENAMEAT2 = _renameat2()


def _rename2(src: Path, dst: Path, flags: int) -> bool:
    """renameat2(src, dst, flags); False when this system or file system does not offer it."""
    if _RENAMEAT2 is None:
        return False
    if _RENAMEAT2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in _UNSUPPORTED:
        return False
    raise OSError(code, os.strerror(code), str(dst))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


class SwapIncomplete(ArtifactError):
    """The entry found at the destination could not be put back: it is still on disk under a
    temporary name the message gives, and the caller must not remove that name."""


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the renames are done, so an interrupt never finds the old
    entry halfway (the Python handlers run, and raise, right after)."""
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def install(new: Path, target: Path, inspected: os.stat_result | None, kind: Kind) -> None:
    """Move the finished `new` to `target`. `inspected` is what check_destination found there
    (None: nothing). Whatever is at `target` now must be that same entry, still replaceable, or
    nothing is changed and ArtifactError is raised; the replaced version is deleted last."""
    with _signals_held():
        if inspected is None:
            try:
                if not _rename2(new, target, _RENAME_NOREPLACE):
                    if _lstat(target) is not None:
                        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target))
                    os.rename(new, target)
            except FileExistsError:
                raise ArtifactError(
                    f"{target}: appeared while firth was writing; nothing was replaced"
                ) from None
            return
        aside = _swap(new, target, inspected, kind)
    _remove(aside)


def _swap(new: Path, target: Path, inspected: os.stat_result, kind: Kind) -> Path:
    """Put `new` at `target` and return where the entry that was there went."""
    exchanged = _rename2(new, target, _RENAME_EXCHANGE)
    aside = new if exchanged else temporary_sibling(target, "old")
    if not exchanged:
        os.rename(target, aside)
    try:
        now = os.lstat(aside)
        if (now.st_dev, now.st_ino) != (inspected.st_dev, inspected.st_ino):
            raise ArtifactError(f"{target}: was replaced while firth was writing; nothing was replaced")
        _check_replaceable(aside, now, kind, shown=target)
        if not exchanged:
            os.rename(new, target)
    except BaseException:
        _put_back(aside, target, exchanged)
        raise
    return aside


def _put_back(aside: Path, target: Path, exchanged: bool) -> None:
    """Return the entry at `aside` to `target` (swapping back with `new`, or renaming it back)."""
    try:
        if not exchanged:
            os.rename(aside, target)
        elif not _rename2(aside, target, _RENAME_EXCHANGE):
            raise OSError(errno.ENOSYS, "renameat2 became unavailable")
    except OSError as exc:
        raise SwapIncomplete(
            f"{target}: what was there is now at {aside} and could not be moved back ({exc.strerror}); "
            "move it back by hand"
        ) from None
