"""core: what every other area uses: configs and choices, errors, run folders, atomic writes, image files, progress."""
