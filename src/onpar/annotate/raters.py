"""raters.yaml: who may rate. Either a list of ids or ``raters: [{id, name}]``."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class RaterSpec(BaseModel):
    """One human rater; ``id`` appears in exports, ``name`` only on their own pages."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=64)
    name: str | None = Field(default=None, max_length=200)

    @property
    def display_name(self) -> str:
        return self.name or self.id


class RatersFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    raters: list[RaterSpec] = Field(min_length=1)


def load_raters(path: Path) -> list[RaterSpec]:
    """Validated raters; ValueError names the file and the problem (unique ids required)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read raters: {exc}") from exc
    if isinstance(data, list):
        data = {"raters": [{"id": r} if isinstance(r, str) else r for r in data]}
    try:
        raters = RatersFile.model_validate(data).raters
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValueError(f"{path}: {where}: {first['msg']}") from exc
    ids = [r.id for r in raters]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"{path}: rater ids must be unique; repeated: {', '.join(repeated)}")
    return raters
