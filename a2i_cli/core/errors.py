"""One exception type for mistakes a user can fix; the CLI prints it as one line and exits 2."""


class UserError(Exception):
    """A bad input or missing prerequisite. The message names the file/row/option and what to do."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


def short(text, n: int = 200) -> str:
    """The first line of a message, cut at a word boundary to about n characters."""
    line = (str(text).strip().splitlines() or [""])[0]
    if len(line) <= n:
        return line
    cut = line[:n].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + " ..."
