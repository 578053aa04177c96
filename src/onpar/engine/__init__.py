"""The run engine: drives the stages in order and keeps them resumable."""

from onpar.engine.inspect import rebuild_report, show_prompt
from onpar.engine.run import RunOutputs, RunSetupError, execute_run

__all__ = ["RunOutputs", "RunSetupError", "execute_run", "rebuild_report", "show_prompt"]
