"""How much memory this process may still use, and a check made before a large allocation, so a
request that cannot fit ends as one clear line instead of a MemoryError traceback, a machine
thrashing in swap, or the kernel's OOM killer."""

from __future__ import annotations

import os
from pathlib import Path

from firth_core.errors import ResourceLimit

_CGROUP = Path("/sys/fs/cgroup")


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _headroom(limit_file: Path, usage_file: Path) -> int | None:
    try:
        limit = limit_file.read_text(encoding="ascii").strip()
        if limit == "max" or int(limit) >= 1 << 60:  # no limit
            return None
        return int(limit) - int(usage_file.read_text(encoding="ascii"))
    except (OSError, ValueError):
        return None


def _cgroup_headroom() -> int | None:
    """Limit minus usage of this process's memory cgroup (v2, or v1 as a container sees it), when
    it sets a limit."""
    try:
        line = Path("/proc/self/cgroup").read_text(encoding="ascii").splitlines()[-1]
        group = _CGROUP / line.split("::", 1)[1].lstrip("/") if line.startswith("0::") else _CGROUP
    except (OSError, IndexError):
        group = _CGROUP
    v2 = _headroom(group / "memory.max", group / "memory.current")
    if v2 is not None:
        return v2
    v1 = _CGROUP / "memory"
    return _headroom(v1 / "memory.limit_in_bytes", v1 / "memory.usage_in_bytes")


def available_memory() -> int:
    """Bytes this process can still allocate without swapping: the system's MemAvailable, or its
    cgroup's headroom when that is smaller (a container's limit)."""
    candidates = [v for v in (_meminfo_available(), _cgroup_headroom()) if v is not None]
    if not candidates:
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError):
            return 1 << 62  # unknown: do not refuse
    return max(min(candidates), 0)


def _gib(n: int) -> str:
    return f"{n / (1 << 30):,.1f} GiB"


def require_memory(needed: int, what: str, hint: str = "") -> None:
    """Raise ResourceLimit when `needed` bytes exceed the memory available now."""
    have = available_memory()
    if needed > have:
        raise ResourceLimit(f"{what} need {_gib(needed)} of memory, {_gib(have)} is available{hint}")
