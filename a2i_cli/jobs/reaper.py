"""No orphans from a private Ray instance: a tiny watcher kills its processes when the driver dies.

Ray's helper processes (dashboard and runtime-env agents) outlive a driver killed with
`kill -9`. The driver starts its private instance with A2I_RAY_SESSION=<tag> in the
environment the Ray processes inherit, and starts this watcher (a fresh interpreter, in its
own session, so a signal to the driver's group does not reach it). While the driver lives,
the watcher keeps a list of the tagged processes and all their descendants (the agents do
not always keep the tag); when the driver is gone it kills every one still running, then
exits.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

TAG_VAR = "A2I_RAY_SESSION"


def new_tag() -> str:
    return uuid.uuid4().hex


def tagged(tag: str) -> list[int]:
    """Pids of this user's processes whose environment holds A2I_RAY_SESSION=tag."""
    needle = f"{TAG_VAR}={tag}".encode() + b"\0"
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if needle in Path(entry.path, "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:  # gone, or another user's
                pass
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks (tells a pid apart from a later one reusing it)."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def family(tag: str) -> dict[int, int]:
    """{pid: start time} of the tagged processes and all their descendants."""
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                ppid = int(Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = {}, tagged(tag)
    while todo:
        pid = todo.pop()
        if pid not in found and (t := start_time(pid)) is not None:
            found[pid] = t
            todo += parents.get(pid, [])
    return found


def watch(driver: int, tag: str, interval: float = 0.5) -> None:
    """While `driver` lives, remember its Ray processes; then SIGKILL those still running."""
    known: dict[int, int] = {}
    while alive(driver):
        known.update(family(tag))
        known = {p: t for p, t in known.items() if start_time(p) == t}
        time.sleep(interval)
    for _ in range(5):
        known.update(family(tag))
        left = {p: t for p, t in known.items() if start_time(p) == t}
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if not left:
            break
        time.sleep(interval)


def start_watcher(tag: str) -> subprocess.Popen | None:
    """Start the watcher for this process and `tag` (Linux only: it reads /proc)."""
    if not os.path.isdir("/proc"):
        return None
    code = "import sys; from a2i_cli.jobs.reaper import watch; watch(int(sys.argv[1]), sys.argv[2])"
    env = {k: v for k, v in os.environ.items() if k != TAG_VAR}  # the watcher must not kill itself
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH")]))
    return subprocess.Popen([sys.executable, "-c", code, str(os.getpid()), tag], env=env, start_new_session=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
