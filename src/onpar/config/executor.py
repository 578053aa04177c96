"""The `executor:` section: where model calls run (in this process, or on a Ray cluster).

Kept apart from `schema.py` so the scale-out settings do not crowd the run schema; the
stages are the same either way, only the place `generate` / `score_options` run changes.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ExecutorConfig(BaseModel):
    """How batches of model calls are executed; `local` is today's in-process behaviour."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["local", "ray"] = Field(
        default="local",
        description="'local': call models in this process; 'ray': on a pool of Ray actors.",
    )
    address: str | None = Field(
        default=None,
        description="Ray cluster address ('auto', 'ray://host:10001', 'host:6379'); "
        "None starts a local cluster for this run.",
    )
    num_workers: int = Field(default=2, ge=1, le=4096, description="Ray actors (model replicas).")
    num_cpus_per_worker: float = Field(default=1.0, ge=0)
    num_gpus_per_worker: float = Field(default=0.0, ge=0)
    max_in_flight: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description="Batches submitted ahead of the one being committed; default 2 per worker.",
    )

    @model_validator(mode="after")
    def _ray_fields_only_with_ray(self) -> ExecutorConfig:
        if self.kind == "local" and self.address is not None:
            raise ValueError("`address` is a Ray setting: set `kind: ray` to use a cluster")
        return self

    @property
    def in_flight(self) -> int:
        """How many batches the driver keeps submitted at once."""
        return self.max_in_flight or 2 * self.num_workers
