"""Scene classes: the nine Kaggle CLASS2 labels and which are indoors (CLASS1)."""
from __future__ import annotations

CLASS2_LABELS = [
    "BEACH", "CITY", "CLASSROOM", "FOOTBALL-MATCH", "FOREST",
    "GROCERY-STORE", "JUNGLE", "RESTAURANT", "RIVER",
]
INDOOR = frozenset({"CLASSROOM", "GROCERY-STORE", "RESTAURANT"})  # docs DATASET.md
OUTDOOR = frozenset(CLASS2_LABELS) - INDOOR


def class1_for(class2: str) -> str:
    """CLASS1 of a CLASS2 label: INDOORS for the indoor scenes, OUTDOORS for every other class."""
    return "INDOORS" if class2.strip().upper() in INDOOR else "OUTDOORS"
