"""model: the audio-to-image network, losses, checkpoints, the scene classifier and the training loop."""
