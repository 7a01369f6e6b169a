"""The Fréchet distance (eval/frechet.py) against scipy's sqrtm, its textbook cases, and the features it compares."""
from __future__ import annotations

import numpy as np
import pytest

from a2i_cli.eval.frechet import (FeatureStats, frechet_distance, frechet_of_features, frechet_of_images,
                                  trace_sqrt_product, trace_sqrt_product_reference)


def reference_fd(a: np.ndarray, b: np.ndarray) -> float:
    """pytorch-fid's formula: np.cov and scipy.linalg.sqrtm of the product."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * trace_sqrt_product_reference(s_a, s_b))


@pytest.mark.parametrize("n, m, d", [(200, 300, 8), (500, 400, 32)])
def test_matches_scipy_sqrtm(n, m, d):
    rng = np.random.default_rng(d)
    a = rng.normal(size=(n, d)) @ rng.normal(size=(d, d))
    b = rng.normal(0.3, 1.5, size=(m, d)) @ rng.normal(size=(d, d))
    assert frechet_of_features(a, b) == pytest.approx(reference_fd(a, b), rel=1e-7)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    assert trace_sqrt_product(s_a, s_b) == pytest.approx(trace_sqrt_product_reference(s_a, s_b), rel=1e-9)


def test_stats_are_the_sample_mean_and_covariance():
    x = np.random.default_rng(0).normal(size=(50, 6))
    s = FeatureStats.of(x)
    np.testing.assert_allclose(s.mean, x.mean(0))
    np.testing.assert_allclose(s.cov, np.cov(x, rowvar=False))
    assert s.n == 50 and FeatureStats.of(x[:1]).cov.sum() == 0  # one vector: no spread, no NaN
    with pytest.raises(ValueError):
        FeatureStats.of(np.zeros((0, 6)))


def test_identical_sets_are_zero_and_a_shift_costs_its_square():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(300, 16))
    assert frechet_of_features(a, a) == pytest.approx(0.0, abs=1e-8)
    shift = rng.normal(size=16)
    assert frechet_of_features(a, a + shift) == pytest.approx(float(shift @ shift), rel=1e-8)


def test_fewer_vectors_than_dimensions_stays_real_and_finite():
    """N < D: singular covariances, where sqrtm of the product can go complex; here every answer is finite and >= 0."""
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(20, 128)), rng.normal(size=(30, 128))
    fd = frechet_of_features(a, b)
    assert np.isfinite(fd) and fd > 0
    assert frechet_of_features(a, a) == pytest.approx(0.0, abs=1e-6)
    const = np.zeros((10, 128))  # no spread at all (a model drawing one picture): the mean and the real spread
    assert frechet_of_features(const, b) == pytest.approx(float(b.mean(0) @ b.mean(0) + np.trace(np.cov(b, rowvar=False))))
    # and the symmetric form agrees with scipy's on a full-rank case of the same size
    c = rng.normal(size=(400, 128))
    assert frechet_of_features(c, c[::-1] * 1.1) == pytest.approx(reference_fd(c, c[::-1] * 1.1), rel=1e-6)


def test_of_images_takes_images_or_their_stats():
    rng = np.random.default_rng(3)
    real = rng.integers(0, 256, (40, 8, 8, 3), dtype=np.uint8)
    gen = rng.integers(0, 256, (30, 8, 8, 3), dtype=np.uint8)

    def embed(x):  # (B, 8, 8, 3) -> (B, 3): mean colour
        return x.reshape(len(x), -1, 3).mean(1)

    fd = frechet_of_images(gen, real, embed)
    assert fd == pytest.approx(frechet_of_images(gen, FeatureStats.of(embed(real)), embed))
    assert fd == pytest.approx(frechet_distance(FeatureStats.of(embed(gen)), FeatureStats.of(embed(real))))


# ----------------------------------------------------------------------------- the scene classifier's features, `a2i score --classifier`

import json  # noqa: E402

import torch  # noqa: E402
from PIL import Image  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from a2i_cli.cli import app  # noqa: E402
from a2i_cli.core.errors import UserError  # noqa: E402
from a2i_cli.model.classifier import Classifier, SceneCNN, load_classifier  # noqa: E402

runner = CliRunner()


def _classifier_file(path, seed=0):
    torch.manual_seed(seed)
    torch.save({"classes": ["BEACH", "FOREST"], "state_dict": SceneCNN(2).state_dict(), "test_accuracy": 0.5,
                "depends_on": "test"}, path)
    return path


def test_scene_classifier_features_are_128_pooled_values(tmp_path):
    clf = load_classifier(_classifier_file(tmp_path / "classifier.pt"))
    images = np.random.default_rng(0).integers(0, 256, (5, 64, 64, 3), dtype=np.uint8)
    f = clf.features(images)
    assert f.shape == (5, 128) and f.dtype == np.float64
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1)
    with torch.no_grad():
        ref = clf.model.features(torch.nn.functional.adaptive_avg_pool2d(x, 32)).mean((2, 3))  # (5, 128)
    np.testing.assert_allclose(f, ref.double().numpy(), rtol=1e-5, atol=1e-6)
    assert isinstance(clf, Classifier) and clf.classes == ["BEACH", "FOREST"]


@pytest.mark.parametrize("content, says", [(None, "does not exist"), (b"not torch", "not a torch file"),
                                           ({"classes": ["A"]}, "not a classifier.pt a2i wrote"),
                                           ({"state_dict": {}}, r"has no 'classes' entry\)")])
def test_a_bad_classifier_file_is_one_line(tmp_path, content, says):
    path = tmp_path / "c.pt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        torch.save(content, path)
    with pytest.raises(UserError, match=says):
        load_classifier(path)


def _write(folder, images):
    folder.mkdir(parents=True, exist_ok=True)
    for i, im in enumerate(images):
        Image.fromarray(im).save(folder / f"x{i}.png")


def test_score_with_a_classifier_reports_the_frechet_distance(in_tmp):
    rng = np.random.default_rng(4)
    real = rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8)
    blur = np.repeat(real.mean((1, 2), keepdims=True).astype(np.uint8), 32, 1).repeat(32, 2)  # flat colours
    _write(in_tmp / "tgt", real)
    _write(in_tmp / "same", real)
    _write(in_tmp / "flat", blur)
    clf = _classifier_file(in_tmp / "classifier.pt")
    fds = {}
    for gen in ("same", "flat"):
        r = runner.invoke(app, ["score", gen, "tgt", "--out", f"s_{gen}", "--classifier", str(clf)])
        assert r.exit_code == 0, r.output
        assert "Fréchet distance (FD)" in r.output
        summary = json.loads((in_tmp / f"s_{gen}/summary.json").read_text())
        assert summary["fd_classifier"] == str(clf) and "Fréchet" in summary["definitions"]["fd"]
        fds[gen] = summary["fd"]
    assert fds["same"] == pytest.approx(0.0, abs=1e-6) and fds["flat"] > 1e-3
    assert f"{fds['flat']:.3f}" in (in_tmp / "s_flat/report.md").read_text()  # the report gives the number too
    _write(in_tmp / "few", real[:2])  # two pairs: no distribution to compare; said, not a number
    r = runner.invoke(app, ["score", "few", "tgt", "--out", "s_few", "--classifier", str(clf)])
    summary = json.loads((in_tmp / "s_few/summary.json").read_text())
    assert r.exit_code == 0 and "fd" not in summary and "needs at least 10 scored pairs, here 2" in r.output
    r = runner.invoke(app, ["score", "same", "tgt", "--out", "s_plain"])  # opt-in: no FD without --classifier
    assert r.exit_code == 0 and "fd" not in json.loads((in_tmp / "s_plain/summary.json").read_text())


@pytest.mark.parametrize("bad", ["missing.pt", "tgt", "tgt/x0.png", "tensor.pt", "list.pt"])
def test_score_with_a_bad_classifier_exits_2_in_one_line(in_tmp, bad):
    _write(in_tmp / "tgt", np.zeros((2, 16, 16, 3), np.uint8))
    torch.save(torch.zeros(3), in_tmp / "tensor.pt")  # a plain tensor: once an internal IndexError
    torch.save([1, 2], in_tmp / "list.pt")
    r = runner.invoke(app, ["score", "tgt", "tgt", "--out", "s", "--classifier", bad])
    assert r.exit_code == 2, r.output
    assert "scene classifier" in r.output and "Traceback" not in r.output
    assert not (in_tmp / "s/summary.json").exists()
