"""A real two-node Ray cluster whose second node shares no files with the driver: nothing is lost.

Node 2 runs in its own mount namespace with an empty tmpfs over the job folder, so it sees
the code and Python but not the CSV, the checkpoint or --out. Needs root (skips otherwise);
slow (each cluster takes ~15 s to start).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from a2i_cli.cli import app

pytestmark = pytest.mark.slow
runner = CliRunner()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, make_cluster):
    c = make_cluster(tmp_path_factory.mktemp("job"))
    yield c
    c.stop()


def check_complete(out, n: int) -> pd.DataFrame:
    m = pd.read_csv(out / "manifest.csv")
    assert m["row"].tolist() == list(range(1, n + 1))  # every row, once, in order
    for p in m["path"]:
        with Image.open(out / p) as im:
            im.load()  # readable here, on the driver
    return m


def test_node2_sees_none_of_the_job_files(cluster):
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from a2i_cli.jobs.ray_session import ray_session

    (cluster.job / "secret.txt").write_text("driver only")
    with ray_session(cluster.address) as ray:
        @ray.remote(num_cpus=1)
        def look(folder):
            return os.listdir(folder)

        seen = [ray.get(look.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False))
                        .remote(str(cluster.job))) for n in ray.nodes() if n["Alive"]]
    assert sorted(len(s) > 0 for s in seen) == [False, True]


def test_batch_generate_with_local_out_and_model_only_on_the_driver(cluster, make_checkpoint, make_csv):
    job = cluster.job
    make_checkpoint(job / "m.pt", size=32)
    make_csv(job / "in.csv", 600)
    r = runner.invoke(app, ["batch-generate", str(job / "in.csv"), "--out", str(job / "out"), "--model", str(job / "m.pt"),
                            "--backend", "ray", "--ray-address", cluster.address, "--batch-size", "16"])
    assert r.exit_code == 0, r.output
    assert "on 2 nodes" in r.output and "600 images at" in r.output
    check_complete(job / "out", 600)
    files = sorted(p.relative_to(job / "out").as_posix() for p in (job / "out/images").rglob("*") if p.is_file())
    assert len(files) == 600


def test_score_on_the_cluster_scores_every_pair(cluster, make_checkpoint, make_tiny_dataset):
    job = cluster.job
    data = make_tiny_dataset(job / "data")
    make_checkpoint(job / "m2.pt", size=32)
    assert runner.invoke(app, ["batch-generate", str(data / "dataset.csv"), "--out", str(job / "gen"),
                               "--model", str(job / "m2.pt"), "--backend", "local", "--workers", "1"]).exit_code == 0
    r = runner.invoke(app, ["score", str(job / "gen"), str(data), "--out", str(job / "s_ray"), "--backend", "ray",
                            "--ray-address", cluster.address])
    assert r.exit_code == 0, r.output
    on_ray = pd.read_csv(job / "s_ray/scores.csv")
    assert runner.invoke(app, ["score", str(job / "gen"), str(data), "--out", str(job / "s_here")]).exit_code == 0
    here = pd.read_csv(job / "s_here/scores.csv")
    assert len(on_ray) == len(here) == 40
    np.testing.assert_allclose(on_ray["ssim"], here["ssim"])


def test_killing_node2_mid_run_loses_and_repeats_nothing(tmp_path_factory, make_cluster, make_checkpoint, make_csv):
    job = tmp_path_factory.mktemp("job_fault")
    cluster = make_cluster(job)
    try:
        n = 4000
        make_checkpoint(job / "m.pt", size=64)
        make_csv(job / "in.csv", n)
        cmd = [sys.executable, "-m", "a2i_cli.cli", "batch-generate", str(job / "in.csv"), "--out", str(job / "out"),
               "--model", str(job / "m.pt"), "--backend", "ray", "--ray-address", cluster.address, "--batch-size", "16"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=cluster.env)
        manifest = job / "out/manifest.csv"
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            if manifest.exists() and manifest.stat().st_size > 20_000:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before node 2 could be killed: " + proc.stdout.read()[-2000:]
        os.kill(cluster.node2_raylet(), signal.SIGKILL)
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode in (0, 3), out[-3000:]
        if proc.returncode == 3:
            assert "rerun" in out
            again = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=cluster.env)
            assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
        check_complete(job / "out", n)
    finally:
        cluster.stop()


def test_a_cluster_with_token_authentication_is_joined_only_with_its_token(tmp_path, make_checkpoint, make_csv):
    """Without the token: one line saying what to set, no Ray warnings; with it: the run works."""
    pytest.importorskip("ray")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from two_node_cluster import RAY_START, TwoNodeCluster, free_port

    temp, port = Path(tempfile.mkdtemp(prefix="a2i-ray-")), free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    token = "0123456789abcdef" * 2
    head_env = {**base, "RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
                "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token}
    subprocess.run([sys.executable, "-c", RAY_START, "start", "--head", f"--port={port}", "--include-dashboard=false",
                    f"--temp-dir={temp}", "--node-ip-address=127.0.0.1", "--num-cpus=1", "--disable-usage-stats"],
                   env=head_env, check=True, capture_output=True, timeout=120)
    head = TwoNodeCluster.__new__(TwoNodeCluster)  # only for stop(): this cluster's processes, by pid
    head.temp, head.address = temp, f"127.0.0.1:{port}"
    try:
        csv = make_csv(tmp_path / "in.csv", 20)
        ckpt = make_checkpoint(tmp_path / "m.pt")
        cmd = [sys.executable, "-m", "a2i_cli.cli", "batch-generate", str(csv), "--out", str(tmp_path / "out"),
               "--model", str(ckpt), "--backend", "ray", "--ray-address", head.address]
        client = {**base, "HOME": str(tmp_path / "home")}  # no ~/.ray/auth_token
        refused = subprocess.run(cmd, env=client, capture_output=True, text=True, timeout=120)
        assert refused.returncode == 2
        assert refused.stderr.strip().splitlines() == [
            f"error: the Ray cluster at {head.address} uses token authentication and refused this client: set "
            "RAY_AUTH_MODE=token and the cluster's token (RAY_AUTH_TOKEN, or the file ~/.ray/auth_token)"]
        joined = subprocess.run(cmd, env={**client, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token},
                                capture_output=True, text=True, timeout=300)
        assert joined.returncode == 0, joined.stdout[-2000:] + joined.stderr[-2000:]
        check_complete(tmp_path / "out", 20)
    finally:
        head.stop()
