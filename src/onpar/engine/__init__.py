"""The run engine: drives the stages in order and keeps them resumable."""

from onpar.engine.inspect import rebuild_report, show_prompt
from onpar.engine.run import RunOutputs, execute_run

__all__ = ["RunOutputs", "execute_run", "rebuild_report", "show_prompt"]
