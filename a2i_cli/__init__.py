"""a2i: learn to draw the scene you are in from what you hear."""
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("a2i")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+src"

N_FEATURES = 104          # 8 frames x 13 MFCC coefficients, frame-major
N_FRAMES = 8
N_COEFFS = 13
FEATURE_COLUMNS = [f"mfcc_{i}" for i in range(1, N_FEATURES + 1)]
CLASS2_LABELS = [
    "BEACH", "CITY", "CLASSROOM", "FOOTBALL-MATCH", "FOREST",
    "GROCERY-STORE", "JUNGLE", "RESTAURANT", "RIVER",
]
