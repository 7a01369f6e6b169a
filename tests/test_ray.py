"""Ray backend: stays on loopback, survives a worker killed mid-run, scores like local.

Slow (each test starts a private Ray instance, ~5-15 s here).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("ray")

from a2i_cli.core.config import BatchConfig  # noqa: E402
from a2i_cli.eval.pairing import pair_images  # noqa: E402
from a2i_cli.jobs.batch import batch_generate  # noqa: E402
from a2i_cli.jobs.ray_session import ray_session  # noqa: E402
from a2i_cli.jobs.score_job import score_pairs  # noqa: E402

pytestmark = pytest.mark.slow

LOOPBACK = re.compile(r'inet_addr\("127\.0\.0\.1"\)|inet_addr\("0\.0\.0\.0"\)|"::1"|"::ffff:127\.0\.0\.1"|"::"')


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed (apt-get install -y strace)")
def test_local_ray_connects_only_to_loopback(tmp_path, make_checkpoint, make_csv):
    ckpt = make_checkpoint(tmp_path / "m.pt")
    make_csv(tmp_path / "in.csv", 20)
    trace = tmp_path / "connect.txt"
    cmd = ["strace", "-f", "-qq", "-e", "trace=connect", "-o", str(trace), sys.executable, "-m", "a2i_cli.cli",
           "batch-generate", "in.csv", "--out", "o", "--model", str(ckpt), "--backend", "ray"]
    # an empty engine cache: auto measures here, running every engine (ONNX Runtime's telemetry thread
    # once looked up mobile.events.data.microsoft.com from this very run)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=180, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(pd.read_csv(tmp_path / "o/manifest.csv")) == 20
    connects = [line for line in trace.read_text().splitlines() if "connect(" in line and "sa_family" in line]
    assert connects, "strace saw no connect() at all"
    outside = [c for c in connects
               if not ("AF_UNIX" in c or "AF_NETLINK" in c or "AF_UNSPEC" in c or LOOPBACK.search(c))]
    assert not outside, "connections outside loopback:\n" + "\n".join(outside[:10])


def test_ray_worker_killed_mid_run_loses_no_rows_and_scores_match(tmp_path, tiny_data, in_tmp, make_checkpoint, make_csv):
    ckpt = make_checkpoint(tmp_path / "m.pt")
    make_csv(tmp_path / "in.csv", 96)
    marker = tmp_path / "crashed-once"
    with ray_session(num_cpus=2):
        res = batch_generate(tmp_path / "in.csv", BatchConfig(out=tmp_path / "o", model=ckpt, backend="ray", workers=2,
                                                              batch_size=8), predictor_kwargs={"crash_once": str(marker)})
        assert marker.exists()  # a worker really died (and Ray restarted it and retried its batch)
        assert res.written == 96 and res.backend == "ray"
        m = pd.read_csv(tmp_path / "o/manifest.csv")
        assert m["row"].tolist() == list(range(1, 97))
        assert all((tmp_path / "o" / p).is_file() for p in m["path"])

        gen = tmp_path / "g"
        batch_generate(tiny_data / "dataset.csv", BatchConfig(out=gen, model=ckpt, backend="inline"))
        pairs = pair_images(gen, tiny_data)
        on_ray, problems = score_pairs(pairs, chunk=8, backend="ray", workers=2)
    inline, _ = score_pairs(pairs, backend="inline")
    assert not problems
    pd.testing.assert_frame_equal(on_ray, inline)
    assert np.isfinite(on_ray["ssim"]).all()
