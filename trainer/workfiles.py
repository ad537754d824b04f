"""Work files on disk (under --tmp-dir) that are written through a memory map.

A page of a map over a sparse file gets its disk block only when first written, and on a full
disk that write kills the process with SIGBUS. So every such file has its blocks reserved first
(posix_fallocate): a full disk then fails right here with an ordinary OSError (ENOSPC), which the
pipeline reports in one line.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt


def work_memmap(path: Path, dtype: npt.DTypeLike, shape: tuple[int, ...]) -> np.memmap:
    """A new file of `shape` at `path`, its disk space reserved, mapped for reading and writing."""
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    with open(path, "wb") as handle:
        reserve = getattr(os, "posix_fallocate", None)  # not on macOS
        try:
            if nbytes and reserve is not None:
                reserve(handle.fileno(), 0, nbytes)
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP):
                raise
        if handle.seek(0, os.SEEK_END) < nbytes:  # nothing reserved: a sparse file, as np.memmap makes
            handle.truncate(nbytes)
    return np.memmap(path, dtype=dtype, mode="r+", shape=shape)
