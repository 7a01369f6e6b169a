"""Starting or joining Ray without surprises: a private instance stays on loopback; a cluster is left as it is.

A private local instance (no address) is small and stays on loopback:
  - RAY_USAGE_STATS_ENABLED=0: no usage report;
  - the Ray processes get HOME = a2i's runtime folder (ray_home()), which holds an
    empty ~/ray_bootstrap_config.yaml: with it Ray believes it runs on a cluster it
    launched itself and skips probing cloud metadata addresses (169.254.169.254,
    metadata.google.internal) at start-up;
  - RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0: Ray's "local only" mode, so the node address is
    127.0.0.1 (not found by a UDP connect to 8.8.8.8) and the GCS listens on loopback;
  - no dashboard, node address 127.0.0.1, num_cpus = the workers asked for,
    object store of OBJECT_STORE_MB.
Joining a cluster (`address="auto"` or "host:port") leaves that cluster's settings alone;
the a2i package travels to its workers (runtime_env py_modules), with the storage endpoint
variables (AWS_ENDPOINT_URL, region); the model travels through the object store, and
images come back to the driver (or go to a URI --out), so no node needs the driver's files.
"""
from __future__ import annotations

import contextlib
import logging
import os
import socket
from pathlib import Path

from ..core.errors import UserError, short
from .reaper import TAG_VAR, new_tag, start_watcher
from .workers import local_cores

OBJECT_STORE_MB = 200
# Ray's switch for "clusters allowed"; "0" makes a node use 127.0.0.1 instead of finding its
# outward address (a UDP connect to 8.8.8.8) and binding the GCS there.
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def ray_home() -> Path:
    """$XDG_CACHE_HOME/a2i/ray-home (default ~/.cache/a2i/ray-home), with ray_bootstrap_config.yaml in it."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    home = base / "a2i" / "ray-home"
    home.mkdir(parents=True, exist_ok=True)
    marker = home / "ray_bootstrap_config.yaml"
    if not marker.exists():
        marker.write_text("# written by a2i: its presence stops Ray probing cloud metadata services at start-up\n")
    return home


@contextlib.contextmanager
def _env(**values: str):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


FORWARDED_ENV = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_DEFAULT_REGION", "AWS_REGION")  # where storage is
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def _host_port(address: str) -> tuple[str, int] | None:
    """(host, port) of a 'host:port' address; None for 'auto' and ray:// client addresses."""
    if address == "auto" or "://" in address or ":" not in address:
        return None
    host, _, port = address.rpartition(":")
    try:
        return host.strip("[]"), int(port)
    except ValueError:
        raise UserError(f"--ray-address {address!r} must be 'auto' or host:port")


def _join(ray, address: str) -> None:
    """ray.init(address): a quick reachability check first (Ray itself retries for minutes), and a cluster
    on this machine's loopback is joined through loopback (Ray would swap 127.0.0.1 for the outward address)."""
    from ray._private import ray_constants

    target = _host_port(address)
    if target is not None:
        try:
            socket.create_connection(target, timeout=5).close()
        except OSError as e:
            raise UserError(f"no Ray cluster answers at {address} ({e.strerror or e}); start one with "
                            "`ray start --head`, or check --ray-address / RAY_ADDRESS")
        _check_token(ray, address)
    loopback = target is not None and target[0] in LOOPBACK_HOSTS
    env_vars = {"RAY_USAGE_STATS_ENABLED": "0", **{k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}}
    cluster_switch = ray_constants.ENABLE_RAY_CLUSTER
    if loopback:
        ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        with _env(**({LOOPBACK_ENV: "0"} if loopback else {})):
            ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False,
                     runtime_env={"py_modules": [str(Path(__file__).resolve().parents[1])], "env_vars": env_vars})
    except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as e:
        raise UserError(f"could not join the Ray cluster at {address!r} ({short(e)}); "
                        "check --ray-address / RAY_ADDRESS")
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = cluster_switch


def _check_token(ray, address: str) -> None:
    """A cluster with token authentication refuses a client without its token: say so in one line
    (ray.init would retry for seconds, print warnings and end with a bare 'failed to connect')."""
    try:
        from ray._raylet import GcsClient
    except ImportError:
        return
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)  # Ray's C++ client logs the refusal on stderr
            GcsClient(address=address)
    except ray.exceptions.AuthenticationError:
        raise UserError(f"the Ray cluster at {address} uses token authentication and refused this client: set "
                        "RAY_AUTH_MODE=token and the cluster's token (RAY_AUTH_TOKEN, or the file ~/.ray/auth_token)")
    except Exception:
        return  # anything else: ray.init says what is wrong
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _start_private(ray, num_cpus: int | None, local_env: dict):
    """A private instance on loopback (see the module docstring); returns the orphan watcher."""
    from ray._private import ray_constants

    # Processes Ray starts now (GCS, raylet, workers) inherit this environment; the
    # driver's copy of the cluster switch is flipped for the call (ray may be imported already).
    cluster_switch = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        watcher = start_watcher(local_env[TAG_VAR])
        with _env(**local_env):
            ray.init(num_cpus=num_cpus or local_cores(), object_store_memory=OBJECT_STORE_MB * 1024 * 1024,
                     include_dashboard=False, _node_ip_address="127.0.0.1", logging_level=logging.ERROR,
                     log_to_driver=False)
        return watcher
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = cluster_switch


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None):
    """Yield the `ray` module connected to a cluster (address) or to a private local instance.

    Shuts down what it started; leaves an already connected session (ray.is_initialized()) alone.
    """
    address = address or os.environ.get("RAY_ADDRESS") or None
    local_env = {"HOME": str(ray_home()), "RAY_USAGE_STATS_ENABLED": "0", LOOPBACK_ENV: "0", TAG_VAR: new_tag()}
    try:
        with _env(**({} if address else local_env)):  # read by ray_constants at import
            import ray
    except ImportError:
        raise UserError("--backend ray needs Ray: pip install 'ray[data]' (or use --backend local)")
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    if ray.is_initialized():
        yield ray
        return
    watcher = None
    if address:
        _join(ray, address)
    else:
        watcher = _start_private(ray, num_cpus, local_env)
    try:
        yield ray
    finally:
        ray.shutdown()
        if watcher is not None:  # the instance is gone: nothing left to watch
            watcher.kill()
            watcher.wait()
