"""A real two-node Ray cluster on one machine, for tests and benchmarks (needs root: mount namespaces).

    cluster = TwoNodeCluster(Path("/tmp/job"))   # node 2 sees an empty tmpfs over /tmp/job
    ... a2i batch-generate ... --backend ray --ray-address {cluster.address}
    cluster.stop()                               # only this cluster's processes, by pid

Both nodes, every address and every listening socket stay on 127.0.0.1. Node 2 runs in its
own mount namespace with an empty tmpfs over the job folder, so it sees the code and
Python but none of the job's files, like a cloud node that shares nothing but the network.
"""
from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def available() -> str:
    """'' when a cluster can be started here, else why not."""
    if os.geteuid() != 0:
        return "needs root (mount namespaces for the second node)"
    if shutil.which("unshare") is None:
        return "needs unshare (util-linux)"
    try:
        import ray  # noqa: F401
    except ImportError:
        return "needs ray (pip install 'a2i[ray]')"
    return ""


RAY_START = ("import sys; import ray._private.ray_constants as rc; import ray._private.services as sv; "
             "rc.ENABLE_RAY_CLUSTER = True; sv.resolve_ip_for_localhost = lambda host: host; "
             "from ray.scripts.scripts import main; sys.argv = ['ray', *sys.argv[1:]]; main()")


class TwoNodeCluster:
    """A real two-node Ray cluster on this machine; node 2 runs in its own mount namespace with an empty
    tmpfs over `job`, so it sees the code and Python but none of the job's files."""

    def __init__(self, job: Path, cpus_per_node: int = 1):
        self.job = job
        self.temp = Path(tempfile.mkdtemp(prefix="a2i-ray-"))  # short: Ray's socket paths must stay short
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        python = sys.executable
        env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
        # Ray's local-only mode keeps every address and listening socket on 127.0.0.1; a worker node is
        # refused in that mode, and `ray start` would swap 127.0.0.1 for the machine's outward address:
        # RAY_START lifts both, for this test cluster only.
        # Token authentication off: this cluster listens on loopback only, and a ~/.ray/auth_token left by
        # some earlier `ray.init()` would otherwise switch the head to token mode and lock node 2 out.
        env.update(RAY_USAGE_STATS_ENABLED="0", RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0", RAY_AUTH_MODE="disabled")
        self.env = env
        common = ["--node-ip-address=127.0.0.1", f"--num-cpus={cpus_per_node}", "--disable-usage-stats"]
        inner = (f"mount -t tmpfs tmpfs {shlex.quote(str(job))} && exec {python} -c {shlex.quote(RAY_START)} start "
                 f"--address={self.address} " + " ".join(common))
        try:
            for what, cmd in (("head node", [python, "-c", RAY_START, "start", "--head", f"--port={self.port}",
                                             "--include-dashboard=false", f"--temp-dir={self.temp}", *common]),
                              ("node 2", ["unshare", "-m", "--propagation", "private", "sh", "-c", inner])):
                r = subprocess.run(cmd, env=env, capture_output=True, timeout=120)
                if r.returncode:
                    tail = (r.stderr or r.stdout).decode(errors="replace").strip().splitlines()[-1:] or ["?"]
                    raise RuntimeError(f"the two-node cluster's {what} did not start: {tail[0][:500]}")
        except BaseException:
            self.stop()  # nothing of a half-started cluster is left running
            raise

    def pids(self) -> list[int]:
        """Every process of this cluster: those naming its temp folder or its GCS address (the Ray client
        server, orphaned at start), and all their descendants."""
        parents: dict[int, list[int]] = {}
        roots = []
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            try:
                cmd = Path(entry.path, "cmdline").read_bytes()
                ppid = int(Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(pid)
            if str(self.temp).encode() in cmd or f"--address={self.address}\0".encode() in cmd:
                roots.append(pid)
        found, todo = set(), list(roots)
        while todo:
            pid = todo.pop()
            if pid not in found:
                found.add(pid)
                todo += parents.get(pid, [])
        return sorted(found)

    def node2_raylet(self) -> int:
        """The raylet of the node in the other mount namespace."""
        mine = os.readlink("/proc/self/ns/mnt")
        for pid in self.pids():
            try:
                if b"raylet/raylet" in Path(f"/proc/{pid}/cmdline").read_bytes() and os.readlink(f"/proc/{pid}/ns/mnt") != mine:
                    return pid
            except OSError:
                continue
        raise RuntimeError("node 2's raylet not found")

    def stop(self) -> None:
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        shutil.rmtree(self.temp, ignore_errors=True)
