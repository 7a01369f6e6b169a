"""One writer per output: a run takes OUT/.a2i.lock for as long as it writes there (local or a URI).

    with output_lock(out, "batch-generate"):
        ...   # a second run into `out` stops at once: "in use by a2i (pid N, since T)"

The lock is an advisory `flock` on the file, so the kernel releases it when its process
ends, however it ends: a lock left by a dead process is simply taken over. The file holds
the holder's pid, host, command and start time, for the message the second run prints,
and is removed when the run ends (a taker checks it locked the file that is still there).

On an object store (a URI OUT) there is no flock: the lock object carries a heartbeat
that the run refreshes every 20 s; a lock whose heartbeat is older than 90 s belongs to a
dead run and is taken over. A heartbeat that meets a fault of the store retries; a run
that has not refreshed its lock for 45 s (half of 90), or finds it taken, counts it lost:
it writes nothing more and exits 3, well before another run may take over. Object stores
offer no atomic create here, so two runs started in the same second could both pass; the
lock is best-effort there.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import stat
import threading
import time
import uuid
from pathlib import Path
from typing import Iterator

from .errors import UserError
from .retry import RESUME, StorageError
from .storage import Location

STALE_S = 90  # a remote lock whose heartbeat is older than this belongs to a dead run
BEAT_S = 20
FENCE_S = STALE_S / 2  # a run that could not refresh its lock for this long stops writing
RELEASE_S = 5.0  # retrying the release at the end of a run: a store that is down must not hold the exit up

LOCK_NAME = ".a2i.lock"
FORK_WAIT_S = 120.0  # a fork waits at most this long for a heartbeat that is talking to the store


class _BeatGuard:
    """No fork while a heartbeat thread is inside a store call. Local workers are forked from the driver; a
    child forked while the heartbeat held pyarrow's S3 client lock inherits that lock locked and hangs for
    good in its first S3 call (seen: a worker stuck in arrow::fs ClientBuilder::BuildClient)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.held_for_fork = False

    def before_fork(self) -> None:
        self.held_for_fork = self.lock.acquire(timeout=FORK_WAIT_S)

    def after_fork_in_parent(self) -> None:
        if self.held_for_fork:
            self.held_for_fork = False
            self.lock.release()

    def after_fork_in_child(self) -> None:
        self.__init__()  # the child has no heartbeat thread: a fresh, free lock


_BEAT = _BeatGuard()
os.register_at_fork(before=_BEAT.before_fork, after_in_parent=_BEAT.after_fork_in_parent,
                    after_in_child=_BEAT.after_fork_in_child)


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text())
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(info["since"])))
        host = "" if info.get("host") == socket.gethostname() else f" on {info.get('host')}"
        return f"pid {info['pid']}{host}, {info.get('command') or 'a2i'} since {since}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def _acquire(path: Path, folder: Path) -> int:
    """An fd holding the flock on the file now at `path` (retried if the file was replaced meanwhile)."""
    while True:
        try:  # O_NOFOLLOW: a symlink planted as the lock must not make us write through it
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as e:
            raise UserError(f"{path} is not a lock file a2i can use ({e.strerror}); remove it") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise UserError(f"{path} is not a regular file; remove it")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UserError(f"{folder} is in use by a2i ({_holder(path)}); wait for that run to finish, "
                            "or write somewhere else") from None
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # the holder removed the file as we opened it: lock the new one


def holder_of(folder) -> str | None:
    """Who is writing FOLDER now ("pid N, command since T"), or None when no run holds its lock."""
    loc = Location.of(folder)
    if not loc.is_local:
        return None
    path = Path(loc.local) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    except BlockingIOError:
        return _holder(path)
    finally:
        os.close(fd)


@contextlib.contextmanager
def output_lock(folder: Path, command: str = "") -> Iterator[Path]:
    """Hold FOLDER/.a2i.lock while the block runs; UserError at once if another run holds it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    fd = _acquire(path, folder)
    try:
        info = {"pid": os.getpid(), "host": socket.gethostname(), "command": command, "since": time.time()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        yield Held(path)
    finally:
        try:
            os.unlink(path)  # still ours: nobody else can hold it while we do
        except FileNotFoundError:
            pass
        os.close(fd)


class Held:
    """A held output lock; `check()` raises once the lock is lost (remote locks only): taken over by another
    run, gone, or not refreshed for FENCE_S seconds."""

    def __init__(self, path, remote: bool = False):
        self.path = path
        self.remote = remote
        self.lost: str | None = None
        self.beat_ok = time.monotonic()  # when the lock was last known to be ours and fresh

    def still_ours(self) -> bool:
        if not self.lost and self.remote and time.monotonic() - self.beat_ok > FENCE_S:
            self.lost = f"its heartbeat could not be refreshed for {FENCE_S:.0f} s"
        return not self.lost

    def check(self) -> None:
        if not self.still_ours():
            raise StorageError(f"the lock on {self.path} was lost ({self.lost}); this run stopped writing so that "
                               f"two runs never write at once: what it wrote is kept, {RESUME}")


def _alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, TypeError, ValueError):
        return False
    except PermissionError:
        return True
    return True


def _describe(info: dict) -> str:
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(_number(info.get("since"))))
    return f"pid {info.get('pid')} on {info.get('host')}, {info.get('command') or 'a2i'} since {since}"


@contextlib.contextmanager
def remote_lock(folder: Location, command: str = "") -> Iterator[Location]:
    """The object-store flavour of output_lock (see the module docstring)."""
    lock = folder.child(LOCK_NAME)

    def read(budget: float | None = None) -> dict:
        """The lock's content ({} when absent or not a2i's JSON); StorageError when the store fails."""
        try:
            info = json.loads(lock.read_bytes(budget))
        except StorageError:
            raise
        except (UserError, ValueError):
            return {}
        return info if isinstance(info, dict) else {}

    if lock.exists():
        info = read()
        dead_here = info.get("host") == socket.gethostname() and not _alive(info.get("pid"))
        if info and not dead_here and time.time() - _number(info.get("beat")) < STALE_S:
            raise UserError(f"{folder} is in use by a2i ({_describe(info)}); wait for that run to finish (a run "
                            f"that died is taken over {STALE_S} s after its last heartbeat, at once when it ran on "
                            "this machine), or write somewhere else")
    me = {"pid": os.getpid(), "host": socket.gethostname(), "command": command, "since": time.time(),
          "token": uuid.uuid4().hex}
    held = Held(lock, remote=True)
    try:
        lock.write_bytes(json.dumps({**me, "beat": time.time()}).encode())
        time.sleep(1.0)  # a run that wrote at the same moment has overwritten ours by now
        now = read()
        if now.get("token") != me["token"]:
            raise UserError(f"{folder} is in use by a2i ({_describe(now)}); wait for that run to finish, "
                            "or write somewhere else")
    except StorageError:
        _release(lock, read, me["token"])  # a fault after our write must not leave our lock behind
        raise
    stop = threading.Event()

    def beat() -> None:
        """Refresh the heartbeat every BEAT_S; a fault of the store is retried until the fence (FENCE_S after
        the last good beat), after which the run counts the lock lost."""
        while not held.lost and not stop.wait(BEAT_S):
            while not held.lost and not stop.is_set():
                left = FENCE_S - (time.monotonic() - held.beat_ok)
                if left <= 0:
                    held.lost = f"its heartbeat could not be refreshed for {FENCE_S:.0f} s"
                    break
                try:
                    with _BEAT.lock:  # a fork waits until this beat is done with the store (_BeatGuard)
                        now = read(budget=left)
                        if now.get("token") != me["token"]:  # taken over (we were stalled too long), or removed
                            held.lost = f"taken over by {_describe(now)}" if now else "it is gone from the store"
                            break
                        t = time.monotonic()
                        lock.write_bytes(json.dumps({**me, "beat": time.time()}).encode(), budget=left)
                    held.beat_ok = t
                    break
                except StorageError:
                    continue  # the budget ran out: the fence check above decides
                except Exception as e:  # never die silently: a lock nobody refreshes is taken by the next run
                    held.lost = f"its heartbeat failed: {type(e).__name__}: {e}"

    thread = threading.Thread(target=beat, name="a2i-lock-heartbeat", daemon=True)
    thread.start()
    try:
        yield held
    finally:
        stop.set()
        thread.join()
        _release(lock, read, me["token"])  # also after a lost lock: if it still holds our token, nobody took it


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _release(lock: Location, read, token: str) -> None:
    """Delete the lock object if it is still ours; a fault of the store here only leaves a lock that expires
    (a rerun on this host takes over a dead run's lock at once). A run that meanwhile read our stale lock and
    wrote its own either kept its lock (the token differs) or sees it gone in its check and stops."""
    try:
        if read(budget=RELEASE_S).get("token") == token:
            lock.delete(budget=RELEASE_S)
    except UserError:
        pass


def lock_output(folder, command: str = ""):
    """output_lock for a local folder, remote_lock for a URI."""
    loc = Location.of(folder)
    return output_lock(loc.local, command) if loc.is_local else remote_lock(loc, command)
