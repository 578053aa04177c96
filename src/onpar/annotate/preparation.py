"""Getting a run ready for raters: items into the store, raters registered, links issued."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from onpar.annotate.items import build_items, load_config, load_run_content
from onpar.annotate.raters import RaterSpec
from onpar.annotate.security import ADMIN_ID, new_secret, secret_hash
from onpar.annotate.store import AnnotationStore
from onpar.store.run_store import RunStore


@dataclass(frozen=True)
class LoginLink:
    """A personal sign-in key; None when one was issued before (only its hash is kept)."""

    rater_id: str
    display_name: str
    token: str | None

    def url(self, base: str) -> str | None:
        return None if self.token is None else f"{base}/login#token={self.token}"


@dataclass(frozen=True)
class Prepared:
    n_items: int
    n_new_items: int
    links: list[LoginLink]  # raters first, the admin last


def prepare(run_dir: Path, raters: list[RaterSpec], new_links: bool = False) -> Prepared:
    """Add the run's items and the raters (idempotent); new keys for those without one."""
    path = run_dir / "run.sqlite"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir}: no run.sqlite here; is this a run's output_dir?")
    with RunStore(path) as run_store:
        config = load_config(run_store, str(run_dir))
        items = build_items(config.comparison_pairs(), load_run_content(run_store))
    store = AnnotationStore(path)
    try:
        added = store.add_items(items)
        people = [(r.id, r.display_name, "rater") for r in raters]
        links = [
            _issue(store, rater_id, name, role, new_links)
            for rater_id, name, role in [*people, (ADMIN_ID, "Admin", "admin")]
        ]
    finally:
        store.close()
    return Prepared(n_items=len(items), n_new_items=added, links=links)


def _issue(
    store: AnnotationStore, rater_id: str, name: str, role: str, new_links: bool
) -> LoginLink:
    store.put_rater(rater_id, name, role)
    if store.has_token(rater_id) and not new_links:
        return LoginLink(rater_id, name, None)
    token = new_secret()
    store.set_token_hash(rater_id, secret_hash(token))
    return LoginLink(rater_id, name, token)
