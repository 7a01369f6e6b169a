"""Shared fixtures and helpers: tiny datasets, random-weight checkpoints and MFCC CSVs, all made in tmp_path.

Helpers are fixtures that return a function (`make_csv(path, n)`), so test files never
import from each other.
"""
from __future__ import annotations

import csv
import os
import socket
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from a2i_cli.core.config import ModelConfig  # noqa: E402
from a2i_cli.data.schema import FEATURE_COLUMNS  # noqa: E402

# class -> (CLASS1, folders, rows per folder)
TINY_LAYOUT = {"BEACH": ("OUTDOORS", ["beach", "beach2", "beach3"], 8), "FOREST": ("OUTDOORS", ["forest"], 16)}


def tiny_dataset(root: Path, size: int = 32, seed: int = 0, layout=TINY_LAYOUT) -> Path:
    """Rows whose image colour follows the first features, grouped by folder like the real data."""
    rng = np.random.default_rng(seed)
    records = []
    for cls, (c1, folders, n) in layout.items():
        for folder in folders:
            (root / "images" / folder).mkdir(parents=True, exist_ok=True)
            for t in range(n):
                feats = rng.normal(0, 10, 104).astype(np.float32)
                colour = np.clip(128 + 4 * feats[:3], 0, 255).astype(np.uint8)
                img = np.empty((size, size, 3), np.uint8)
                img[:] = colour
                img[size // 2 :, :, :] //= 2
                rel = f"images/{folder}/{folder}{t}.png"
                Image.fromarray(img).save(root / rel)
                records.append({"IMAGE": rel, **dict(zip(FEATURE_COLUMNS, feats.tolist())), "CLASS1": c1, "CLASS2": cls})
    pd.DataFrame(records, columns=["IMAGE", *FEATURE_COLUMNS, "CLASS1", "CLASS2"]).to_csv(root / "dataset.csv", index=False)
    return root


def random_checkpoint(path: Path, size: int = 32, seed: int = 0, latent: int = 16, arch: str = "seed") -> Path:
    """Random weights, saved like a trained checkpoint: enough for generate and batch-generate."""
    import torch

    from a2i_cli.data.normalize import Normalizer
    from a2i_cli.model.checkpoint import save_checkpoint
    from a2i_cli.model.network import build_model

    torch.manual_seed(seed)
    model = build_model(ModelConfig(latent=latent, image_size=size, arch=arch)).eval()
    save_checkpoint(path, model, Normalizer(np.zeros(104, np.float32), np.full(104, 10, np.float32)))
    return path


def mfcc_csv(path: Path, n: int, seed: int = 0, bad: dict[int, str] | None = None) -> Path:
    """n rows: id, mfcc_1..104, IMAGE, CLASS2; bad = {row: 'text'|'nan'|'inf'|'short'|'long'}."""
    rng = np.random.default_rng(seed)
    feats = rng.normal(0, 10, (n, 104)).round(4)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", *FEATURE_COLUMNS, "IMAGE", "CLASS2"])
        for i in range(n):
            fields = [f"id{i + 1}", *(str(v) for v in feats[i]), f"images/x/x{i + 1}.png", "BEACH"]
            kind = (bad or {}).get(i + 1)
            if kind in ("text", "nan", "inf"):
                fields[5] = {"text": "loud", "nan": "nan", "inf": "-inf"}[kind]
            elif kind == "short":
                fields = fields[:50]
            elif kind == "long":
                fields = fields + ["extra"]
            w.writerow(fields)
    return path


@pytest.fixture(scope="session")
def make_tiny_dataset():
    return tiny_dataset


@pytest.fixture(scope="session")
def make_checkpoint():
    return random_checkpoint


@pytest.fixture(scope="session")
def make_csv():
    return mfcc_csv


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    return tiny_dataset(tmp_path / "data")


@pytest.fixture
def ckpt(tmp_path: Path) -> Path:
    """A random-weight 32 px checkpoint."""
    return random_checkpoint(tmp_path / "m.pt")


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch) -> Path:
    """Run in a fresh current folder, so runs/ lands in tmp_path."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def prepared(tiny_data, in_tmp) -> Path:
    """The tiny dataset prepared at 32 px, all classes, as runs/prepare/p."""
    from typer.testing import CliRunner

    from a2i_cli.cli import app

    r = CliRunner().invoke(app, ["prepare", str(tiny_data), "--class", "all", "--image-size", "32", "--name", "p"])
    assert r.exit_code == 0, r.output
    return in_tmp / "runs/prepare/p"


# ----------------------------------------------------------------------------- servers and clusters on 127.0.0.1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """An S3-compatible server (moto) on 127.0.0.1 and a bucket `a2i`; yields the environment to use it."""
    import subprocess
    import time
    import urllib.request

    pytest.importorskip("moto", reason="moto (a test-only dependency: pip install 'moto[server,s3]') is not installed")
    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
    deadline = time.time() + 30
    while True:
        try:
            urllib.request.urlopen(env["AWS_ENDPOINT_URL"], timeout=1)
            break
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.skip("the moto S3 server did not start")
            time.sleep(0.2)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    import pyarrow.fs as pafs

    fs, _ = pafs.FileSystem.from_uri("s3://a2i?allow_bucket_creation=true")
    fs.create_dir("a2i")
    yield env
    for k, v in saved.items():
        os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    proc.kill()
    proc.wait()
    log.close()


def start_cluster(job: Path):
    """A TwoNodeCluster (benchmarks/two_node_cluster.py) over `job`, or a skip saying why not."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from two_node_cluster import TwoNodeCluster, available

    why = available()
    if why:
        pytest.skip(f"a two-node cluster on one machine {why}")
    return TwoNodeCluster(job)


@pytest.fixture(scope="session")
def make_cluster():
    return start_cluster
