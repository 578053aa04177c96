"""`python -m onpar` is the same as the `onpar` command."""

from onpar.cli import app

app(prog_name="onpar")
