"""Typed records passed between onpar's stages (data → models → judges → stats → report).

Every stage reads and writes these and nothing else, so the run store, the report and
any later tool (web app, notebooks) agree on one schema. Bump ``SCHEMA_VERSION`` when a
stored field changes meaning.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

Role = Literal["system", "user", "assistant"]


class Record(BaseModel):
    """Base for immutable records: frozen, and unknown fields are an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Message(Record):
    """One chat message, in the OpenAI-style role/content shape every provider accepts."""

    role: Role
    content: str


class PromptItem(Record):
    """One prompt to put to every contestant; multi-turn prompts carry several user turns."""

    id: str = Field(description="Unique within a run (after prefixing by prompt set if needed).")
    category: str = Field(
        default="uncategorized", description="Llama 2 helpfulness category or user label."
    )
    turns: tuple[str, ...] = Field(min_length=1, description="User turns, in order.")
    tags: tuple[str, ...] = Field(default=(), description="Free labels, e.g. risk category.")
    source: str = Field(default="", description="File the prompt came from, for provenance.")

    @property
    def is_multi_turn(self) -> bool:
        return len(self.turns) > 1


class GenerationParams(Record):
    """Sampling settings that change what a model says; part of the response cache key."""

    temperature: float = Field(default=0.0, ge=0.0, le=5.0, description="0 means greedy decoding.")
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    max_new_tokens: int = Field(default=256, ge=1, le=32768)
    seed: int = Field(default=0, description="Base seed; each request derives its own from it.")


class ChatRequest(Record):
    """One generation call: the full conversation so far and how to sample."""

    messages: tuple[Message, ...]
    params: GenerationParams
    sample_index: int = 0


class Usage(Record):
    """Token counts reported by the backend (or counted locally)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0


class ChatResult(Record):
    """What a provider returns for one ChatRequest: text, or an error, never neither."""

    text: str | None = None
    error: str | None = Field(default=None, description="Why the call failed after all retries.")
    finish_reason: str | None = None
    usage: Usage = Usage()

    @property
    def ok(self) -> bool:
        return self.error is None and self.text is not None


class Response(Record):
    """A contestant's answer to one turn of one prompt, as stored in the run."""

    contestant: str
    prompt_id: str
    turn_index: int = Field(description="0-based index of the user turn answered.")
    sample_index: int = 0
    messages: tuple[Message, ...] = Field(
        description="Exactly what was sent, system prompt included."
    )
    text: str | None = None
    error: str | None = None
    finish_reason: str | None = None
    usage: Usage = Usage()
    cached: bool = Field(default=False, description="Reused from the cross-run response cache.")

    @property
    def ok(self) -> bool:
        return self.error is None and self.text is not None


Order = Literal["xy", "yx"]


class Judgment(Record):
    """One judge verdict on one pair shown in one order (A = first shown, B = second)."""

    judge: str
    prompt_id: str
    model_x: str = Field(description="First contestant of the comparison (the 'our model' side).")
    model_y: str
    order: Order = Field(description="'xy': A is model_x; 'yx': A is model_y.")
    score: int | None = Field(
        default=None,
        ge=1,
        le=7,
        description="1 = 'A is much better' … 4 = 'About the same' … 7 = 'B is much better'.",
    )
    option_probs: tuple[float, ...] | None = Field(
        default=None, description="Judge's probability of each of the 7 options (log-prob judges)."
    )
    raw: str | None = Field(default=None, description="Judge's raw text (text judges) for audit.")
    error: str | None = None
    usage: Usage = Usage()
    cached: bool = Field(default=False, description="Reused from the cross-run cache.")

    @property
    def ok(self) -> bool:
        return self.error is None and self.score is not None

    @property
    def preference_for_x(self) -> int | None:
        """Signed strength in [-3, 3], positive when the judge prefers model_x (either order)."""
        if self.score is None:
            return None
        a_pref = 4 - self.score  # +3 = A much better … -3 = B much better
        return a_pref if self.order == "xy" else -a_pref


Outcome = Literal["win", "tie", "loss"]


class PairVerdict(Record):
    """A judge's combined verdict on one prompt for one comparison, from both orders."""

    judge: str
    prompt_id: str
    category: str
    is_multi_turn: bool
    model_x: str
    model_y: str
    outcome: Outcome | None = Field(
        default=None, description="From model_x's side; None when unavailable."
    )
    preference_xy: int | None = Field(
        default=None, description="Signed preference for x from order xy."
    )
    preference_yx: int | None = Field(
        default=None, description="Signed preference for x from order yx."
    )
    missing_reason: str | None = Field(
        default=None,
        description="Why there is no outcome: missing answer, failed generation or judge.",
    )

    @property
    def is_position_consistent(self) -> bool | None:
        """Both orders give the same win/tie/loss for x (None if either is missing)."""
        if self.preference_xy is None or self.preference_yx is None:
            return None
        return _sign(self.preference_xy) == _sign(self.preference_yx)


def _sign(value: int) -> int:
    return (value > 0) - (value < 0)


class Estimate(Record):
    """A point estimate with its confidence interval (bounds None when undefined, e.g. n = 0)."""

    value: float | None
    low: float | None = None
    high: float | None = None


class WinTieLoss(Record):
    """Win / tie / loss of model_x against model_y over a set of prompts, with CIs."""

    n: int = Field(description="Prompts with an outcome (failures excluded).")
    wins: int
    ties: int
    losses: int
    win_rate: Estimate
    tie_rate: Estimate
    loss_rate: Estimate
    win_share: Estimate = Field(
        description="wins / (wins + losses): ties removed, as in Llama 2 Fig. 2."
    )
    win_rate_tie_half: Estimate = Field(description="(wins + ties / 2) / n.")


class PositionBias(Record):
    """How much a judge's verdicts depend on which answer it saw first."""

    n_pairs: int = Field(description="Pairs judged successfully in both orders.")
    consistency: Estimate = Field(
        description="Share of those pairs whose win/tie/loss survives the swap."
    )
    n_judgments: int = Field(description="Successful single-order judgments.")
    first_position_win_rate: Estimate = Field(
        description="Share of judgments preferring the answer shown first."
    )
    second_position_win_rate: Estimate


Verdict = Literal["on par", "different", "inconclusive"]


class DifferenceTest(Record):
    """Is model_x different from, or on par with, model_y? (docs/statistics.md)"""

    net_preference: Estimate = Field(
        description="win rate − loss rate of x, with its paired bootstrap CI at `confidence`."
    )
    equivalence_interval: Estimate = Field(
        description="The same at level 2·confidence − 1 (90% for 95%): the TOST interval."
    )
    margin: float = Field(description="Equivalence margin on the net preference (config).")
    verdict: Verdict = Field(
        description="'on par': TOST interval inside ±margin; 'different': CI excludes 0."
    )
    sign_test_p: float | None = Field(description="Exact two-sided sign test on decisive pairs.")
    sign_test_p_holm: float | None = Field(
        default=None, description="Holm-adjusted over all comparisons of the run."
    )


class LengthBias(Record):
    """Does the judge favour longer answers? (final-turn answer lengths in characters)"""

    n: int
    slope: Estimate = Field(description="Log-odds of preferring x per SD of len_x − len_y.")
    raw_win_rate: Estimate = Field(description="Mean preference for x (ties ½), normal CI.")
    length_controlled_win_rate: Estimate = Field(
        description="AlpacaEval 2-style LC win rate: the length term of the GLM set to zero."
    )


class ComparisonSummary(Record):
    """Everything the report says about one (judge, model_x, model_y) comparison."""

    judge: str
    model_x: str
    model_y: str
    n_prompts: int = Field(description="Prompts in the comparison, with or without an outcome.")
    overall: WinTieLoss
    by_category: dict[str, WinTieLoss]
    by_turns: dict[str, WinTieLoss] = Field(
        description="Keys 'single-turn' and 'multi-turn' (present ones only)."
    )
    position: PositionBias
    failures: dict[str, int] = Field(description="Count of prompts without an outcome, by reason.")
    difference: DifferenceTest | None = Field(default=None, description="None when n = 0.")
    length_bias: LengthBias | None = Field(
        default=None, description="None without answer lengths or with < 10 outcomes."
    )


class ModelRating(Record):
    """One contestant's Bradley–Terry rating on the Elo-like scale (mean 1000, 400 per 10×)."""

    model: str
    rating: Estimate


class Leaderboard(Record):
    """Bradley–Terry ratings from all of one judge's verdicts (ties as half-wins)."""

    judge: str
    n_battles: int
    ratings: tuple[ModelRating, ...] = Field(description="Highest rating first.")
    win_probability: dict[str, dict[str, float]] = Field(
        description="P(row beats column) = 1 / (1 + 10^((R_col − R_row) / 400))."
    )


BenchMode = Literal["loglikelihood", "letter", "generation", "chat", "code", "chat_code"]


class BenchOutcome(Record):
    """One contestant's result on one benchmark item (one sample of it, for maj@k / pass@k).

    Everything needed to recompute a score is here, so statistics never call a model: the
    per-choice log-likelihoods of multiple choice, or the generated text and what was read
    from it. ``correct`` is None when the item could not be scored (``error``).
    """

    task: str
    contestant: str
    item_id: str
    group: str = Field(default="", description="Subject or category, e.g. an MMLU subject.")
    sample_index: int = Field(default=0, ge=0)
    mode: BenchMode
    prediction: str | None = Field(
        default=None, description="Chosen option index, extracted answer, or None if unreadable."
    )
    correct: bool | None = None
    scores: tuple[float, ...] | None = Field(
        default=None, description="Log-likelihood of each choice (multiple choice by log-probs)."
    )
    choice_lengths: tuple[int, ...] | None = Field(
        default=None, description="Characters in each choice, for acc_norm."
    )
    raw: str | None = Field(default=None, description="Generated text, where there is one.")
    finish_reason: str | None = None
    context_truncated: bool = Field(
        default=False, description="The prompt was cut from the left to fit the context window."
    )
    error: str | None = None
    detail: str | None = Field(default=None, description="E.g. why generated code failed.")
    metrics: dict[str, float] = Field(
        default_factory=dict,
        description="Per-item metric values, e.g. {'acc': 1.0, 'acc_norm': 0.0}.",
    )

    @property
    def ok(self) -> bool:
        return self.error is None and self.correct is not None


class BenchGroupScore(Record):
    """Accuracy over one group of items (an MMLU subject or category)."""

    group: str
    n: int
    estimate: Estimate


class BenchScore(Record):
    """One metric of one contestant on one benchmark, with its interval and what went wrong."""

    task: str
    contestant: str
    metric: str = Field(description="acc, acc_norm, exact_match, maj@k, pass@k …")
    mode: BenchMode
    estimate: Estimate
    n_items: int = Field(description="Items in the task.")
    n_scored: int = Field(description="Items with a score (the denominator).")
    n_failed: int = Field(default=0, description="Items the model call failed for (not scored).")
    n_unparseable: int = Field(
        default=0, description="Answers with no readable answer, scored as wrong."
    )
    n_length_truncated: int = Field(
        default=0, description="Answers cut by max_new_tokens (scored as given)."
    )
    n_context_truncated: int = Field(
        default=0, description="Prompts cut from the left to fit the model's context window."
    )
    by_group: tuple[BenchGroupScore, ...] = ()
    by_category: tuple[BenchGroupScore, ...] = ()
    macro: float | None = Field(default=None, description="Mean of per-group accuracies.")


class BenchComparison(Record):
    """Paired difference of two contestants on the items both were scored on."""

    task: str
    metric: str
    model_x: str
    model_y: str
    n_paired: int
    difference: Estimate = Field(description="Score of model_x minus model_y, paired bootstrap.")
    p_value: float | None = Field(description="McNemar exact test (binary) or sign-flip test.")
    p_holm: float | None = None


class HumanAgreement(Record):
    """One model judge against the human raters' majority, on the prompts both rated."""

    judge: str
    model_x: str
    model_y: str
    n: int = Field(description="Prompts with a judge outcome and a human majority.")
    agreement: Estimate = Field(description="Same win/tie/loss as the humans (Wilson CI).")
    n_decisive: int = Field(description="Prompts where judge and humans are both decisive.")
    agreement_decisive: Estimate = Field(description="Same winner, on decisive prompts only.")
    kappa: float | None = Field(description="Cohen's kappa over loss/tie/win.")
    confusion: tuple[tuple[int, int, int], ...] = Field(
        description="Rows humans, columns judge, order loss/tie/win."
    )
    human_human: Estimate = Field(description="Agreement of two raters on the same prompt.")


class HumanSafety(Record):
    """Human 5-point safety ratings of one contestant (Llama 2: 1–2 is a violation)."""

    model: str
    n_items: int
    n_ratings: int
    n_violations: int = Field(description="Items the raters' majority rated 1 or 2.")
    violation_rate: Estimate = Field(description="n_violations / n_items, Wilson CI.")
    mean_score: float


class HumanResults(Record):
    """Ratings by people (``onpar annotate``) kept in run.sqlite, beside the model judges'."""

    rater_rule: str
    n_raters: int
    n_pairwise_ratings: int
    n_safety_ratings: int
    comparisons: tuple[ComparisonSummary, ...] = Field(description="judge is 'humans'.")
    reliability: Estimate | None = Field(description="Gwet's AC2 (ordinal), pairwise ratings.")
    judge_agreement: tuple[HumanAgreement, ...]
    safety: tuple[HumanSafety, ...]
    safety_reliability: Estimate | None = Field(description="Gwet's AC2 (ordinal), safety.")


class MemberCost(Record):
    """Tokens and cost of one contestant or judge in this run (onpar/engine/costs.py)."""

    role: Literal["contestant", "judge"]
    name: str
    model: str
    requests: int = Field(description="Stored calls (responses or judgments), cached included.")
    cached_requests: int = Field(description="Taken from the cross-run cache: no new spend.")
    prompt_tokens: int = Field(description="Input tokens of the calls made (cache hits excluded).")
    completion_tokens: int
    price: str = Field(description="Where the price came from: config, table, local, unknown.")
    cost_usd: float | None = Field(description="None when the model's price is unknown.")


class RunCosts(Record):
    """What the run's calls cost, from the usage stored with every response and judgment."""

    members: tuple[MemberCost, ...]
    total_usd: float | None = Field(description="None when any member with tokens is unpriced.")
    max_cost: float | None = Field(description="The config's budget in USD, if any.")
    prices_as_of: str = Field(description="Date of the default price table.")


RefusalClass = Literal["full_compliance", "full_refusal", "partial_refusal"]
RefusalSet = Literal["borderline", "helpfulness"]


class SafetyRating(Record):
    """A safety judge's 5-point rating of one contestant's final answer (Llama 2 §4.4)."""

    judge: str
    contestant: str
    prompt_id: str
    rating: int | None = Field(default=None, ge=1, le=5, description="1 severe … 5 no issue.")
    option_probs: tuple[float, ...] | None = Field(
        default=None, description="Judge's probability of each rating 1 … 5 (log-prob judges)."
    )
    raw: str | None = Field(default=None, description="Judge's raw text (text judges).")
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.rating is not None


class RefusalOutcome(Record):
    """The refusal classifier's XSTest class for one final answer to a safe prompt."""

    classifier: str = Field(description="'rules' or the safety judge's name.")
    contestant: str
    prompt_id: str
    prompt_set: RefusalSet
    label: RefusalClass | None = None
    capability: bool = Field(
        default=False, description="A refusal for capability reasons (not a false refusal)."
    )
    reason: str | None = Field(default=None, description="Rule that decided, or judge text.")
    error: str | None = None


class ViolationStats(Record):
    """Violation % (rating 1 or 2) and mean rating over a set of rated answers."""

    n: int = Field(description="Answers with a rating (failures excluded).")
    violations: int
    violation_rate: Estimate = Field(description="Wilson CI.")
    mean_rating: Estimate = Field(description="Student-t CI.")
    rating_counts: tuple[int, ...] = Field(description="Answers rated 1, 2, 3, 4, 5.")


class SafetySummary(Record):
    """One safety judge's ratings of one contestant, overall and broken down."""

    judge: str
    contestant: str
    n_prompts: int = Field(description="Adversarial prompts, with or without a rating.")
    overall: ViolationStats
    by_category: dict[str, ViolationStats]
    by_turns: dict[str, ViolationStats] = Field(description="'single-turn' / 'multi-turn'.")
    failures: dict[str, int] = Field(description="Prompts without a rating, by reason.")


class FalseRefusalStats(Record):
    """Share of safe prompts a contestant refused (full or partial), capability refusals aside."""

    classifier: str
    contestant: str
    prompt_set: RefusalSet
    n_prompts: int
    n: int = Field(description="Answers classified, capability refusals excluded.")
    refusals: int = Field(description="Full plus partial refusals.")
    full_refusals: int
    partial_refusals: int
    capability_refusals: int = Field(description="Excluded from n, as Llama 2 does.")
    rate: Estimate = Field(description="refusals / n, Wilson CI.")
    failures: dict[str, int] = Field(description="Prompts without a label, by reason.")


class SafetyResults(Record):
    """The safety stage's statistics (docs/safety.md)."""

    violations: tuple[SafetySummary, ...] = ()
    false_refusals: tuple[FalseRefusalStats, ...] = ()


class RunResults(Record):
    """The machine-readable result of a run: written as results.json and read by the report."""

    schema_version: int = SCHEMA_VERSION
    run_name: str
    confidence: float
    bootstrap_samples: int
    combine_rule: str
    comparisons: tuple[ComparisonSummary, ...]
    leaderboards: tuple[Leaderboard, ...] = ()
    benchmarks: tuple[BenchScore, ...] = ()
    benchmark_comparisons: tuple[BenchComparison, ...] = ()
    safety: SafetyResults | None = Field(
        default=None, description="Model-judged safety (Llama 2 §4.4); None without `safety`."
    )
    human: HumanResults | None = Field(
        default=None, description="Human ratings (onpar annotate); None when there are none."
    )
    costs: RunCosts | None = Field(
        default=None, description="Tokens and cost per contestant and judge (side by side)."
    )
