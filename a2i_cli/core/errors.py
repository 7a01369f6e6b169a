"""One exception type for mistakes a user can fix; the CLI prints it as one line and exits 2."""


class UserError(Exception):
    """A bad input or missing prerequisite. The message names the file/row/option and what to do."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code
