"""inference: how a trained model runs (eager, fused C++ decoder, torch.export) and the C++ ops behind it."""
