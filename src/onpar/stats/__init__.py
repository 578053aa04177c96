"""Stage 5: statistics. Small pure functions — arrays or records in, numbers out, no I/O.

Each function's docstring gives its formula and reference; tests check each against an
independent implementation (scipy, choix, irrCAC, krippendorff, brute force).

* Intervals: ``wilson_interval``, ``percentile_interval``, ``paired_bootstrap``.
* Win / tie / loss: ``bootstrap_win_tie_loss``, ``win_tie_loss_cis`` (many comparisons at once),
  ``summarize_comparison``.
* Is the difference real?: ``sign_test``, ``paired_win_rate_difference``, ``mcnemar_test``,
  ``paired_accuracy_difference``, ``holm_adjust``, ``equivalence_verdict``, ``tost_p_value``.
* Many contestants: ``bradley_terry``, ``bradley_terry_bootstrap``, ``win_probability_matrix``.
* Raters: ``gwet_ac1``, ``gwet_ac2``, ``krippendorff_alpha``, ``fleiss_kappa``, ``cohen_kappa``,
  ``reliability_report``.
* Judges: ``position_bias``, ``judge_human_agreement``, ``human_human_agreement``,
  ``length_bias_slope``, ``length_controlled_win_rate``, ``self_preference``.
* Few human labels: ``ppi_win_rate``, ``ppi_mean``, ``ppi_plus_plus_mean``.
* AlpacaEval's own numbers: ``alpaca_eval_win_rate``.
"""

from onpar.stats.alpaca_eval import alpaca_eval_win_rate
from onpar.stats.bradley_terry import (
    bradley_terry,
    bradley_terry_bootstrap,
    bradley_terry_replicates,
    win_matrix,
    win_probability_matrix,
)
from onpar.stats.intervals import paired_bootstrap, percentile_interval, wilson_interval
from onpar.stats.judge_agreement import (
    agreement_rates,
    cohens_kappa,
    confusion_matrix,
    human_human_agreement,
    human_majority,
    judge_human_agreement,
    judge_rater_agreement,
)
from onpar.stats.judge_bias import (
    length_bias_bins,
    length_bias_slope,
    length_controlled_win_rate,
    self_preference,
)
from onpar.stats.position import position_bias
from onpar.stats.ppi import (
    classical_mean,
    judge_only_mean,
    ppi_lambda,
    ppi_mean,
    ppi_plus_plus_mean,
    ppi_win_rate,
)
from onpar.stats.reliability import (
    cohen_kappa,
    fleiss_kappa,
    gwet_ac1,
    gwet_ac2,
    krippendorff_alpha,
    percent_agreement,
)
from onpar.stats.reliability_report import (
    ReliabilityReport,
    bootstrap_reliability,
    reliability_report,
)
from onpar.stats.reliability_weights import weights_matrix
from onpar.stats.significance import (
    BatchRates,
    equivalence_confidence,
    equivalence_verdict,
    holm_adjust,
    mcnemar_test,
    paired_accuracy_difference,
    paired_difference_replicates,
    paired_win_rate_difference,
    sign_test,
    tost_p_value,
    win_tie_loss_cis,
)
from onpar.stats.summary import derive_seed, summarize_comparison
from onpar.stats.winrates import bootstrap_win_tie_loss

__all__ = [
    "BatchRates",
    "ReliabilityReport",
    "agreement_rates",
    "alpaca_eval_win_rate",
    "bootstrap_reliability",
    "bootstrap_win_tie_loss",
    "bradley_terry",
    "bradley_terry_bootstrap",
    "bradley_terry_replicates",
    "classical_mean",
    "cohen_kappa",
    "cohens_kappa",
    "confusion_matrix",
    "derive_seed",
    "equivalence_confidence",
    "equivalence_verdict",
    "fleiss_kappa",
    "gwet_ac1",
    "gwet_ac2",
    "holm_adjust",
    "human_human_agreement",
    "human_majority",
    "judge_human_agreement",
    "judge_only_mean",
    "judge_rater_agreement",
    "krippendorff_alpha",
    "length_bias_bins",
    "length_bias_slope",
    "length_controlled_win_rate",
    "mcnemar_test",
    "paired_accuracy_difference",
    "paired_bootstrap",
    "paired_difference_replicates",
    "paired_win_rate_difference",
    "percent_agreement",
    "percentile_interval",
    "position_bias",
    "ppi_lambda",
    "ppi_mean",
    "ppi_plus_plus_mean",
    "ppi_win_rate",
    "reliability_report",
    "self_preference",
    "sign_test",
    "summarize_comparison",
    "tost_p_value",
    "weights_matrix",
    "wilson_interval",
    "win_matrix",
    "win_probability_matrix",
    "win_tie_loss_cis",
]
