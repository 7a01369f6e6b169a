"""Long jobs on object storage ride through transient faults, stop with exit 3 and the truth when they
cannot, keep one writer, and lose or repeat no row: moto on 127.0.0.1 behind a fault-injecting proxy."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from a2i_cli.cli import app
from a2i_cli.core import locks, storage
from a2i_cli.core.retry import StorageError
from a2i_cli.core.storage import Location
from a2i_cli.jobs.batch_output import PartManifest

from fault_proxy import FaultProxy

pytestmark = pytest.mark.slow
runner = CliRunner()
RESUME = "rerun the same command to resume"


@pytest.fixture
def proxy(s3_server):
    """A FaultProxy in front of the moto server, used by every s3:// location while the test runs."""
    port = int(s3_server["AWS_ENDPOINT_URL"].rsplit(":", 1)[1])
    px = FaultProxy(port, seed=0).start()
    direct = os.environ["AWS_ENDPOINT_URL"]
    os.environ["AWS_ENDPOINT_URL"] = px.url
    storage.forget_filesystems()
    yield px
    os.environ["AWS_ENDPOINT_URL"] = direct
    storage.forget_filesystems()
    px.stop()


def upload(local, uri: str) -> str:
    Location.of(uri).write_bytes(local.read_bytes())
    return uri


def quiet(px: FaultProxy) -> None:
    px.slowdown = px.reset = 0.0
    px.down_until = 0.0
    px.forced.clear()


def assert_each_row_once(out: str, n: int) -> None:
    """manifest.csv lists rows 1..n once each, in order, and every image it lists is a readable PNG."""
    m = pd.read_csv(io.BytesIO(Location.of(out + "/manifest.csv").read_bytes()), keep_default_na=False)
    assert m["row"].tolist() == list(range(1, n + 1))
    assert len(set(m["path"])) == n
    listed = {f"images/{p}" for p in Location.of(out + "/images").list_files()}
    assert set(m["path"]) == listed
    for p in m["path"][:: max(1, n // 25)]:  # a sample: every image is listed with a non-zero size above
        Image.open(io.BytesIO(Location.of(f"{out}/{p}").read_bytes())).load()
    assert not Location.of(out + "/manifest.parts").list_files()


def start_job(tmp, name: str, n: int, ckpt, make_csv) -> tuple[str, str, list[str]]:
    make_csv(tmp / f"{name}.csv", n)
    src = upload(tmp / f"{name}.csv", f"s3://a2i/{name}/in.csv")
    model = upload(ckpt, f"s3://a2i/{name}/m.pt")
    out = f"s3://a2i/{name}/out"
    return src, out, ["batch-generate", src, "--out", out, "--model", model, "--backend", "local", "--workers", "2",
                      "--batch-size", "16", "--engine", "eager"]


def when_requests(px: FaultProxy, more: int, then) -> threading.Thread:
    """Call then() once the proxy has answered `more` further requests (the run is under way)."""
    start = px.counts["requests"]

    def watch() -> None:
        deadline = time.monotonic() + 120
        while px.counts["requests"] < start + more and time.monotonic() < deadline:
            time.sleep(0.01)
        then()

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    return t


def one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


def test_throttling_and_resets_are_ridden_through_with_no_library_lines(proxy, in_tmp, ckpt, make_csv, capfd):
    src, out, args = start_job(in_tmp, "f1", 160, ckpt, make_csv)
    proxy.slowdown, proxy.reset = 0.08, 0.04
    r = runner.invoke(app, args)
    counts = dict(proxy.counts)
    quiet(proxy)
    assert r.exit_code == 0, r.output
    assert counts["slowdown"] >= 15 and counts["reset"] >= 6, counts  # the run met the faults
    assert "160 images written" in r.output
    assert_each_row_once(out, 160)
    native = capfd.readouterr()
    assert "s3fs.cc" not in native.err + native.out and "AWS Error" not in native.err + native.out


def test_store_down_for_10_s_mid_run_is_ridden_through(proxy, in_tmp, ckpt, make_csv):
    src, out, args = start_job(in_tmp, "f2", 120, ckpt, make_csv)
    when_requests(proxy, 100, lambda: proxy.outage(10))
    t0 = time.monotonic()
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert time.monotonic() - t0 > 10  # it did wait the outage out
    assert_each_row_once(out, 120)


def a2i(*args: str, **env: str) -> subprocess.CompletedProcess:
    """The a2i command in its own process (a run that ends is a process that ends, as for a user)."""
    exe = Path(sys.executable).with_name("a2i")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "from a2i_cli.cli import main; main()"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=600, env={**os.environ, **env})


def test_an_outage_longer_than_the_budget_exits_3_and_the_rerun_finishes_exactly_once(proxy, in_tmp, ckpt,
                                                                                        make_csv):
    src, out, args = start_job(in_tmp, "f3", 120, ckpt, make_csv)
    when_requests(proxy, 100, lambda: proxy.outage(60))
    r = a2i(*args, A2I_STORAGE_RETRY_S="1")  # the AWS SDK's own retries last about 6 s, then a2i gives up
    quiet(proxy)  # the store is back
    assert r.returncode == 3, r.stdout + r.stderr
    line = one_error_line(r.stderr)
    assert "s3://a2i/f3/" in line and "network" in line and RESUME in line
    assert "images written" not in r.stdout
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert_each_row_once(out, 120)


def test_an_unreachable_input_is_a_network_fault_not_a_bad_csv(proxy, in_tmp, ckpt, make_csv, monkeypatch):
    src, out, args = start_job(in_tmp, "f4", 5, ckpt, make_csv)
    monkeypatch.setenv("A2I_STORAGE_RETRY_S", "1")
    proxy.outage(60)
    r = runner.invoke(app, args)
    quiet(proxy)
    assert r.exit_code == 3, r.output
    line = one_error_line(r.output)
    assert "s3://a2i/f4/in.csv" in line and "network" in line and "readable CSV" not in line


def test_lock_heartbeat_rides_through_503s(proxy, monkeypatch, capfd):
    monkeypatch.setattr(locks, "BEAT_S", 0.2)
    folder = Location.of("s3://a2i/lk1")
    with locks.remote_lock(folder, "test") as held:
        proxy.fail_next(10, match=locks.LOCK_NAME)  # 503 SlowDown: the SDK retries some, a2i the rest
        deadline = time.monotonic() + 30
        while proxy.forced and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # a few more beats after the faults
        assert not proxy.forced and held.still_ours()
        info = json.loads(folder.child(locks.LOCK_NAME).read_bytes())
        assert info["pid"] == os.getpid() and time.time() - info["beat"] < 1.0  # refreshed again
    assert not folder.child(locks.LOCK_NAME).exists()  # released at the end
    assert "Exception in thread" not in capfd.readouterr().err


def test_a_lock_not_refreshed_in_time_is_lost_and_the_run_stops(proxy, monkeypatch):
    monkeypatch.setattr(locks, "BEAT_S", 0.2)
    monkeypatch.setattr(locks, "FENCE_S", 1.0)
    folder = Location.of("s3://a2i/lk2")
    with locks.remote_lock(folder, "test") as held:
        proxy.outage(3)
        time.sleep(2.0)
        assert not held.still_ours()
        with pytest.raises(StorageError) as e:
            held.check()
        assert e.value.code == 3 and "lock" in str(e.value) and RESUME in str(e.value)
        while time.monotonic() < proxy.down_until:
            time.sleep(0.1)


def test_a_batch_run_that_loses_its_lock_exits_3_and_the_rerun_finishes(proxy, in_tmp, ckpt, make_csv, monkeypatch):
    monkeypatch.setattr(locks, "BEAT_S", 0.2)
    monkeypatch.setattr(locks, "FENCE_S", 1.0)
    src, out, args = start_job(in_tmp, "f5", 120, ckpt, make_csv)
    when_requests(proxy, 100, lambda: proxy.outage(3))
    r = runner.invoke(app, args)
    assert r.exit_code == 3, r.output
    line = one_error_line(r.output)
    assert "lock" in line and RESUME in line
    assert "images written" not in r.output  # never a report of success
    monkeypatch.setattr(locks, "FENCE_S", 45.0)
    r = runner.invoke(app, args)  # the run released the lock it had lost, as nobody had taken it
    assert r.exit_code == 0, r.output
    assert_each_row_once(out, 120)


def test_a_503_on_the_lock_at_start_is_ridden_through(proxy, in_tmp, ckpt, make_csv):
    src, out, args = start_job(in_tmp, "f6", 20, ckpt, make_csv)
    proxy.fail_next(8, match=locks.LOCK_NAME)
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert_each_row_once(out, 20)


def test_a_lock_fault_at_start_exits_3_and_leaves_no_lock(proxy, in_tmp, ckpt, make_csv, monkeypatch):
    """The read-back of the lock just written fails for good: one line, exit 3, and our lock is removed."""
    src, out, args = start_job(in_tmp, "f7", 20, ckpt, make_csv)
    real, failed = Location.read_bytes, []

    def read_bytes(self, budget=None, retry_missing=False):
        if self.text.endswith(locks.LOCK_NAME) and not failed:
            failed.append(self.text)
            raise StorageError(f"cannot read {self.text}: the store is throttling requests; {RESUME}")
        return real(self, budget, retry_missing)

    monkeypatch.setattr(Location, "read_bytes", read_bytes)
    r = runner.invoke(app, args)
    assert failed and r.exit_code == 3, r.output
    assert RESUME in one_error_line(r.output)
    assert not Location.of(out).child(locks.LOCK_NAME).exists()
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output


def test_manifest_parts_without_batch_json_are_refused(proxy, in_tmp, ckpt, make_csv):
    """A resume that cannot know the input of the lines already there must not mix in another input."""
    src, out, args = start_job(in_tmp, "f8", 30, ckpt, make_csv)
    Location.of(out + "/manifest.parts/000001.csv").write_bytes(b"1,images/000000/000000001.png,id1,x.png,BEACH\n")
    Location.of(out + "/images/000000/000000001.png").write_bytes(b"not ours")
    r = runner.invoke(app, args)
    assert r.exit_code == 2, r.output
    line = one_error_line(r.output)
    assert "no batch.json" in line and "new --out" in line
    assert Location.of(out + "/images/000000/000000001.png").read_bytes() == b"not ours"  # nothing overwritten


def test_no_manifest_part_is_put_without_its_batch_json(proxy):
    """A store wiped mid-run: the next part brings batch.json back first, so a rerun checks the input."""
    out = Location.of("s3://a2i/f9/out")
    m = PartManifest(out, ["id"])
    m.record = b'{"input": "x"}'
    m.append([[1, "images/000000/000000001.png", "a"]])
    m.flush()
    assert out.child("batch.json").read_bytes() == b'{"input": "x"}'
    for rel in out.list_files():  # the store is wiped
        out.child(rel).delete()
    m.append([[2, "images/000000/000000002.png", "b"]])
    m.flush()
    assert out.child("batch.json").read_bytes() == b'{"input": "x"}'


def test_score_over_uris_rides_through_faults(proxy, in_tmp, tiny_data, ckpt):
    for p in tiny_data.rglob("*"):
        if p.is_file():
            upload(p, f"s3://a2i/f10/data/{p.relative_to(tiny_data).as_posix()}")
    out = "s3://a2i/f10/gen"
    r = runner.invoke(app, ["batch-generate", "s3://a2i/f10/data/dataset.csv", "--out", out, "--model", str(ckpt),
                            "--engine", "eager"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["score", out, "s3://a2i/f10/data", "--out", "calm"])
    assert r.exit_code == 0, r.output
    proxy.slowdown, proxy.reset = 0.06, 0.02
    r = runner.invoke(app, ["score", out, "s3://a2i/f10/data", "--out", "faulty", "--backend", "local",
                            "--workers", "2"])
    assert proxy.counts["slowdown"] >= 3, proxy.counts
    quiet(proxy)
    assert r.exit_code == 0, r.output
    calm = pd.read_csv(in_tmp / "calm" / "scores.csv").sort_values("name").reset_index(drop=True)
    faulty = pd.read_csv(in_tmp / "faulty" / "scores.csv").sort_values("name").reset_index(drop=True)
    pd.testing.assert_frame_equal(calm, faulty)
    # a target missing from the store is one pair's problem (exit 1), as with local folders
    Location.of(calm["target"][0]).delete()
    r = runner.invoke(app, ["score", out, "s3://a2i/f10/data", "--out", "one-gone"])
    assert r.exit_code == 1 and "not scored" in r.output and "does not exist" in r.output, r.output
    assert len(pd.read_csv(in_tmp / "one-gone" / "scores.csv")) == len(calm) - 1


def test_images_without_batch_json_are_refused(proxy, in_tmp, ckpt, make_csv):
    """A run killed before it listed a row, its batch.json deleted: another input must not be mixed in."""
    src, out, args = start_job(in_tmp, "f11", 10, ckpt, make_csv)
    Location.of(out + "/images/000000/000000001.png").write_bytes(b"an image of another input")
    r = runner.invoke(app, args)
    assert r.exit_code == 2 and "holds images/ but no batch.json" in one_error_line(r.output), r.output
