"""CLI command modules: option parsing plus one call into the library each."""
