"""commands: the thin CLI; each module parses options and makes one call into the library."""
