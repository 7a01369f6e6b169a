"""a2i: learn to draw the scene you are in from what you hear (104 MFCC features -> an image).

Areas, lowest first; a module imports only from its own area or lower ones:
    core -> data -> eval -> model -> inference -> jobs -> media -> pipeline.py -> commands/, cli.py
"""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("a2i")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+src"
