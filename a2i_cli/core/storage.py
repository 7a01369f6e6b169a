"""Files anywhere: a local path or a URI (s3://, gs://, hdfs://, file://) behind one small API (pyarrow.fs).

    loc = Location.of("s3://bucket/run/out")        # or Location.of("imgs/")
    loc.child("manifest.csv").write_bytes(data)      # atomic: temp + rename locally, one PUT remotely
    loc.child("images").list_files()                  # relative paths of every file below
    with loc.child("in.csv").open_input() as f: ...   # a binary stream

Local paths stay plain pathlib (fast, and the atomic writes of core/atomic.py); URIs go
through pyarrow.fs, whose filesystems are made once per scheme and host. An S3-compatible
server elsewhere than AWS is reached through AWS_ENDPOINT_URL (pyarrow reads it). Every
remote call rides through throttling, server errors and network faults (core/retry.py);
one that outlasts the retry budget raises StorageError (exit 3, "rerun to resume").
"""
from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from .atomic import write_bytes as atomic_write_bytes
from .errors import UserError, short
from .retry import kind_of, with_retries

URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_uri(text) -> bool:
    return bool(URI.match(str(text)))


# gs: pyarrow retries for 15 s (not minutes of silence); core/retry.py retries around each call.
# s3: a file written in one go is one PutObject, not CreateMultipartUpload + UploadPart + Complete (an image
# is 1 request instead of 3: a third of the round trips, and of the chances to meet a fault).
URI_OPTIONS = {"gs": "?retry_limit_seconds=15", "gcs": "?retry_limit_seconds=15", "s3": "?allow_delayed_open=true"}


_FILESYSTEMS: dict[str, object] = {}  # scheme://host -> its pyarrow filesystem, made once per process
_INHERITED: list = []  # a forked child's copies of its parent's filesystems: kept, never used or destroyed


def _filesystem(root: str):
    """The pyarrow filesystem for a URI's scheme://host part, made once."""
    if root in _FILESYSTEMS:
        return _FILESYSTEMS[root]
    import pyarrow as pa
    import pyarrow.fs as pafs

    scheme = root.split("://", 1)[0]
    try:
        fs, _ = pafs.FileSystem.from_uri(root + URI_OPTIONS.get(scheme, ""))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, ValueError) as e:
        raise UserError(f"cannot open {root}: {short(e)} (a2i reads s3://, gs://, hdfs:// and file:// through pyarrow)")
    _FILESYSTEMS[root] = fs
    return fs


def forget_filesystems() -> None:
    """Make new filesystems from here on (after the endpoint or credentials in the environment changed)."""
    _FILESYSTEMS.clear()


def _after_fork_in_child() -> None:
    """A process forked from this one (a local worker) makes its own filesystems: the parent's hold pooled
    keep-alive connections whose sockets the child shares, and two processes talking over one socket mix
    up their requests and answers (an image PUT "succeeded" that never landed). The inherited ones are kept
    alive, never destroyed, so that the child never closes (TLS: never shuts down) a parent's connection."""
    _INHERITED.extend(_FILESYSTEMS.values())
    _FILESYSTEMS.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


@dataclass(frozen=True)
class Location:
    """A file or folder, local or remote. `text` is what the user wrote (for messages and records)."""

    text: str

    @classmethod
    def of(cls, where) -> "Location":
        if isinstance(where, Location):
            return where
        text = str(where)
        if is_uri(text):
            scheme, rest = text.split("://", 1)
            return cls(f"{scheme.lower()}://{rest}")  # S3://bucket is s3://bucket
        return cls(str(Path(text)))

    def __str__(self) -> str:
        return self.text

    @property
    def is_uri(self) -> bool:
        return is_uri(self.text)

    @property
    def local(self) -> Path:
        """The local path (file:// URIs included); UserError for remote locations."""
        if self.text.startswith("file://"):
            return Path(self.text[len("file://"):])
        if self.is_uri:
            raise UserError(f"{self.text} is not a local path")
        return Path(self.text)

    @property
    def is_local(self) -> bool:
        return not self.is_uri or self.text.startswith("file://")

    def _remote(self):
        scheme, rest = self.text.split("://", 1)
        host, _, path = rest.partition("/")
        fs = _filesystem(f"{scheme}://{host}")
        full = f"{host}/{path}".rstrip("/") if scheme in ("s3", "gs", "gcs") else "/" + path.rstrip("/")
        return fs, full

    def child(self, rel: str) -> "Location":
        rel = str(PurePosixPath(rel))
        if self.is_uri:
            return Location(self.text.rstrip("/") + "/" + rel)
        return Location(str(Path(self.text) / rel))

    # ------------------------------------------------------------------ queries

    def _info(self):
        import pyarrow.fs as pafs

        fs, path = self._remote()
        return with_retries(lambda: fs.get_file_info(path), "reach", self.text), pafs

    def exists(self) -> bool:
        if self.is_local:
            return self.local.exists()
        info, pafs = self._info()
        return info.type != pafs.FileType.NotFound

    def is_dir(self) -> bool:
        if self.is_local:
            return self.local.is_dir()
        info, pafs = self._info()
        return info.type == pafs.FileType.Directory

    def is_file(self) -> bool:
        if self.is_local:
            return self.local.is_file()
        info, pafs = self._info()
        return info.type == pafs.FileType.File

    def stat(self) -> dict:
        """{"bytes": size, "mtime": seconds} of a file."""
        if self.is_local:
            st = os.stat(self.local)
            return {"bytes": st.st_size, "mtime": st.st_mtime}
        info, _ = self._info()
        return {"bytes": info.size, "mtime": info.mtime.timestamp() if info.mtime else None}

    def list_files(self, dirs: list | None = None) -> list[str]:
        """Relative (posix) paths of every file below this folder; [] when it does not exist. `dirs`, when
        given, receives the relative paths of the folders below it."""
        if self.is_local:
            root = self.local
            if not root.is_dir():
                return []
            out = []
            for dirpath, subdirs, files in os.walk(root):
                rel = Path(dirpath).relative_to(root)
                out += [(rel / f).as_posix() for f in files]
                if dirs is not None:
                    dirs += [(rel / d).as_posix() for d in subdirs]
            return out
        import pyarrow.fs as pafs

        fs, path = self._remote()
        infos = with_retries(lambda: fs.get_file_info(pafs.FileSelector(path, recursive=True, allow_not_found=True)),
                             "list", self.text)
        if dirs is not None:
            dirs += [i.path[len(path) + 1:] for i in infos if i.type == pafs.FileType.Directory]
        return [i.path[len(path) + 1:] for i in infos if i.type == pafs.FileType.File]

    def list_sizes(self) -> dict[str, int]:
        """{name: size in bytes} of the files directly in this folder; {} when it does not exist."""
        if self.is_local:
            try:
                return {e.name: e.stat(follow_symlinks=False).st_size for e in os.scandir(self.local)
                        if e.is_file(follow_symlinks=False)}
            except (FileNotFoundError, NotADirectoryError):
                return {}
        import pyarrow.fs as pafs

        fs, path = self._remote()
        infos = with_retries(lambda: fs.get_file_info(pafs.FileSelector(path, recursive=False, allow_not_found=True)),
                             "list", self.text)
        return {i.base_name: i.size for i in infos if i.type == pafs.FileType.File}

    # ------------------------------------------------------------------ reading and writing

    def open_input(self) -> BinaryIO:
        """A binary stream; a remote one reopens where it was after a transient fault (RemoteReader)."""
        if self.is_local:
            return open(self.local, "rb")
        return io.BufferedReader(RemoteReader(self), buffer_size=1 << 20)

    def read_bytes(self, budget: float | None = None, retry_missing: bool = False) -> bytes:
        """The whole file. budget: seconds to keep retrying a remote read (default: A2I_STORAGE_RETRY_S);
        retry_missing: a "not found" may be transient (an object just listed)."""
        if self.is_local:
            with open(self.local, "rb") as f:
                return f.read()
        fs, path = self._remote()

        def read() -> bytes:
            with fs.open_input_file(path) as f:  # one ranged GET for the whole object (a stream GETs 256 KB ones)
                return f.read()

        return with_retries(read, "read", self.text, budget, retry_missing)

    def write_bytes(self, data: bytes, budget: float | None = None) -> None:
        """Atomic: a reader sees the old content or the new, never part of it. A remote write is one PUT
        (an object store's all or nothing), repeated as a whole after a transient fault."""
        if self.is_local:
            atomic_write_bytes(self.local, data)
            return
        fs, path = self._remote()

        def write() -> None:
            with fs.open_output_stream(path, compression=None) as f:
                f.write(data)

        with_retries(write, "write", self.text, budget)

    def delete(self, budget: float | None = None) -> None:
        if self.is_local:
            self.local.unlink(missing_ok=True)
            return
        fs, path = self._remote()

        def delete() -> None:
            try:
                fs.delete_file(path)
            except FileNotFoundError:
                pass
            except OSError as e:
                if kind_of(e) is not None or ("not found" not in str(e).lower()
                                              and "does not exist" not in str(e).lower()):
                    raise

        with_retries(delete, "delete", self.text, budget)

    def make_dirs(self) -> None:
        if self.is_local:
            self.local.mkdir(parents=True, exist_ok=True)
            return
        fs, path = self._remote()
        with_retries(lambda: fs.create_dir(path, recursive=True), "create", self.text)


class RemoteReader(io.RawIOBase):
    """A remote file read front to back; a transient fault mid-way reopens it at the same offset (each
    read is retried like any storage call), so a long CSV stream survives what a single GET would not."""

    def __init__(self, loc: Location):
        self.loc = loc
        self.fs, self.path = loc._remote()
        self.pos = 0
        self.f = with_retries(self._open, "read", loc.text)

    def _open(self):
        """The file, open at self.pos (one try; the callers retry)."""
        f = self.fs.open_input_file(self.path)
        if self.pos:
            f.seek(self.pos)
        return f

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        def op() -> bytes:
            if self.f is None:
                self.f = self._open()
            try:
                return self.f.read(len(buffer))
            except OSError:
                self.f = None  # reopen at self.pos on the next try
                raise

        data = with_retries(op, "read", self.loc.text)
        n = len(data)
        buffer[:n] = data
        self.pos += n
        return n

    def close(self) -> None:
        if self.f is not None:
            try:
                self.f.close()
            except OSError:
                pass
            self.f = None
        super().close()
