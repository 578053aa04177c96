"""Statistics for side-by-side comparisons: win/tie/loss rates, intervals, position bias.

Pure functions (sequences or arrays in, ``onpar.records`` results out, no I/O):

* ``wilson_interval`` - a proportion with its Wilson score interval.
* ``paired_bootstrap`` - percentile bootstrap of any statistic, resampling prompts.
* ``bootstrap_win_tie_loss`` - win / tie / loss rates, win share and tie-half win rate.
* ``position_bias`` - judge consistency under order swap, first/second-position wins.
* ``summarize_comparison`` - all of the above for one (judge, model_x, model_y).
"""

from onpar.stats.intervals import paired_bootstrap, percentile_interval, wilson_interval
from onpar.stats.position import position_bias
from onpar.stats.summary import derive_seed, summarize_comparison
from onpar.stats.winrates import bootstrap_win_tie_loss

__all__ = [
    "bootstrap_win_tie_loss",
    "derive_seed",
    "paired_bootstrap",
    "percentile_interval",
    "position_bias",
    "summarize_comparison",
    "wilson_interval",
]
