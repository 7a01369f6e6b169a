"""batch-generate on misbehaving object storage: does a long job finish, exactly once?

    .venv/bin/python benchmarks/bench_faults.py                 # 5,000 rows, 5% 503 + 2% resets, then + a 10 s outage
    .venv/bin/python benchmarks/bench_faults.py --rows 500      # quicker

An S3-compatible server (moto) on 127.0.0.1 behind tests/fault_proxy.py (seeded: a share of
requests answered 503 SlowDown, a share of connections reset before or after the server acted).
Input CSV, model and output are all s3:// URIs; the a2i command runs in its own process, as a
user's would. Run 1: the faults alone. Run 2: the faults plus an outage (every connection reset)
mid-run; where it exits 3 it is run again, as the message says. After each: the manifest lists
rows 1..N once each, every listed image is in the bucket and nothing else is, and a sample decodes.
"""
from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from conftest import mfcc_csv, random_checkpoint  # noqa: E402
from fault_proxy import FaultProxy  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--slowdown", type=float, default=0.05, help="share of requests answered 503 SlowDown")
    ap.add_argument("--reset", type=float, default=0.02, help="share of connections reset")
    ap.add_argument("--outage", type=float, default=10.0, help="seconds the store is down in run 2 (0: no run 2)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="a2i-faults-"))
    port = free_port()
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        px = FaultProxy(port, seed=args.seed).start()
        env = {**os.environ, "AWS_ENDPOINT_URL": px.url, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
               "XDG_CACHE_HOME": str(work / "cache")}
        os.environ.update(env)
        import pyarrow.fs as pafs

        from a2i_cli.core.storage import Location

        fs, _ = pafs.FileSystem.from_uri("s3://bkt?allow_bucket_creation=true")
        fs.create_dir("bkt")
        n = args.rows
        random_checkpoint(work / "m.pt", size=256)
        mfcc_csv(work / "in.csv", n)
        Location.of("s3://bkt/in/in.csv").write_bytes((work / "in.csv").read_bytes())
        Location.of("s3://bkt/m.pt").write_bytes((work / "m.pt").read_bytes())
        exe = Path(sys.executable).with_name("a2i")
        a2i = [str(exe)] if exe.exists() else [sys.executable, "-c", "from a2i_cli.cli import main; main()"]
        print(f"{n} rows, s3:// in and out, proxy: {args.slowdown:.0%} 503 SlowDown + {args.reset:.0%} resets "
              f"(seed {args.seed}); CPU: {cpu()}", flush=True)

        def run(out: str, label: str) -> int:
            t0, c0 = time.time(), dict(px.counts)
            r = subprocess.run([*a2i, "batch-generate", "s3://bkt/in/in.csv", "--out", out, "--model", "s3://bkt/m.pt",
                                "--backend", "local"], capture_output=True, text=True, env=env, cwd=work)
            c = {k: px.counts[k] - c0[k] for k in c0}
            print(f"{label}: exit {r.returncode} in {time.time() - t0:.0f} s; {c['requests']} requests, "
                  f"{c['slowdown']} answered 503, {c['reset']} reset", flush=True)
            for line in (r.stdout + r.stderr).strip().splitlines()[-3:]:
                print(f"    {line[:300]}")
            return r.returncode

        def check(out: str) -> None:
            import pandas as pd
            from PIL import Image

            saved = px.slowdown, px.reset
            px.slowdown = px.reset = 0.0
            m = pd.read_csv(io.BytesIO(Location.of(out + "/manifest.csv").read_bytes()), keep_default_na=False)
            images = {f"images/{p}" for p in Location.of(out + "/images").list_files()}
            once = m["row"].tolist() == list(range(1, n + 1)) and set(m["path"]) == images and len(images) == n
            bad = 0
            for p in m["path"][:: max(1, n // 100)]:
                try:
                    Image.open(io.BytesIO(Location.of(f"{out}/{p}").read_bytes())).load()
                except Exception:
                    bad += 1
            print(f"    check: rows 1..{n} listed once each, every image there and no other: {once}; "
                  f"sample of {len(m['path'][:: max(1, n // 100)])} images, {bad} unreadable", flush=True)
            px.slowdown, px.reset = saved

        px.slowdown, px.reset = args.slowdown, args.reset
        run("s3://bkt/run1", "run 1, faults")
        check("s3://bkt/run1")
        if args.outage > 0:
            start = px.counts["requests"]

            def later() -> None:
                while px.counts["requests"] < start + max(200, n // 2):
                    time.sleep(0.01)
                print(f"    [the store goes down for {args.outage:.0f} s]", flush=True)
                px.outage(args.outage)

            threading.Thread(target=later, daemon=True).start()
            if run("s3://bkt/run2", f"run 2, faults + a {args.outage:.0f} s outage mid-run") != 0:
                time.sleep(max(0.0, px.down_until - time.monotonic()))
                run("s3://bkt/run2", "run 2 again (resume)")
            check("s3://bkt/run2")
        px.stop()
    finally:
        moto.kill()
        moto.wait()


def cpu() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    main()
