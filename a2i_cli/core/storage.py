"""Files anywhere: a local path or a URI (s3://, gs://, hdfs://, file://) behind one small API (pyarrow.fs).

    loc = Location.of("s3://bucket/run/out")        # or Location.of("imgs/")
    loc.child("manifest.csv").write_bytes(data)      # atomic: temp + rename locally, one PUT remotely
    loc.child("images").list_files()                  # relative paths of every file below
    with loc.child("in.csv").open_input() as f: ...   # a binary stream

Local paths stay plain pathlib (fast, and the atomic writes of core/atomic.py); URIs go
through pyarrow.fs, whose filesystems are made once per scheme and host. An S3-compatible
server elsewhere than AWS is reached through AWS_ENDPOINT_URL (pyarrow reads it).
"""
from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from .atomic import write_bytes as atomic_write_bytes
from .errors import UserError, short

URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_uri(text) -> bool:
    return bool(URI.match(str(text)))


RETRY_QUERY = {"gs": "?retry_limit_seconds=15", "gcs": "?retry_limit_seconds=15"}  # not minutes of silence


@functools.lru_cache(maxsize=16)
def _filesystem(root: str):
    """The pyarrow filesystem for a URI's scheme://host part, made once."""
    import pyarrow as pa
    import pyarrow.fs as pafs

    scheme = root.split("://", 1)[0]
    try:
        fs, _ = pafs.FileSystem.from_uri(root + RETRY_QUERY.get(scheme, ""))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, ValueError) as e:
        raise UserError(f"cannot open {root}: {short(e)} (a2i reads s3://, gs://, hdfs:// and file:// through pyarrow)")
    return fs


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
        try:
            return fs.get_file_info(path), pafs
        except OSError as e:
            raise UserError(f"cannot reach {self.text}: {str(e).splitlines()[0]}")

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

    def list_files(self) -> list[str]:
        """Relative (posix) paths of every file below this folder; [] when it does not exist."""
        if self.is_local:
            root = self.local
            if not root.is_dir():
                return []
            out = []
            for dirpath, _, files in os.walk(root):
                rel = Path(dirpath).relative_to(root)
                out += [(rel / f).as_posix() for f in files]
            return out
        import pyarrow.fs as pafs

        fs, path = self._remote()
        try:
            infos = fs.get_file_info(pafs.FileSelector(path, recursive=True, allow_not_found=True))
        except OSError as e:
            raise UserError(f"cannot list {self.text}: {str(e).splitlines()[0]}")
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
        try:
            infos = fs.get_file_info(pafs.FileSelector(path, recursive=False, allow_not_found=True))
        except OSError as e:
            raise UserError(f"cannot list {self.text}: {short(e)}")
        return {i.base_name: i.size for i in infos if i.type == pafs.FileType.File}

    # ------------------------------------------------------------------ reading and writing

    def open_input(self) -> BinaryIO:
        if self.is_local:
            return open(self.local, "rb")
        fs, path = self._remote()
        try:
            return fs.open_input_stream(path, compression=None)
        except OSError as e:
            raise UserError(f"cannot read {self.text}: {str(e).splitlines()[0]}")

    def read_bytes(self) -> bytes:
        with self.open_input() as f:
            return f.read()

    def write_bytes(self, data: bytes) -> None:
        """Atomic: a reader sees the old content or the new, never part of it."""
        if self.is_local:
            atomic_write_bytes(self.local, data)
            return
        fs, path = self._remote()
        try:
            with fs.open_output_stream(path, compression=None) as f:  # an object store PUT: all or nothing
                f.write(data)
        except OSError as e:
            raise UserError(f"cannot write {self.text}: {str(e).splitlines()[0]}")

    def delete(self) -> None:
        if self.is_local:
            self.local.unlink(missing_ok=True)
            return
        fs, path = self._remote()
        try:
            fs.delete_file(path)
        except FileNotFoundError:
            pass
        except OSError as e:
            if "not found" not in str(e).lower() and "does not exist" not in str(e).lower():
                raise UserError(f"cannot delete {self.text}: {str(e).splitlines()[0]}")

    def make_dirs(self) -> None:
        if self.is_local:
            self.local.mkdir(parents=True, exist_ok=True)
            return
        fs, path = self._remote()
        try:
            fs.create_dir(path, recursive=True)
        except OSError as e:
            raise UserError(f"cannot create {self.text}: {str(e).splitlines()[0]}")
