"""eval: image similarity metrics, pairing and scoring generated images, score reports and pictures."""
