"""ResponsesFileModel: the three answer formats, model filtering, gaps and malformed files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from onpar.config.schema import ResponsesFileSpec
from onpar.models.base import ChatModel, LogprobsUnsupportedError
from onpar.models.responses_file import ResponsesFileModel
from onpar.records import ChatRequest, GenerationParams, Message

MT_BENCH_QUESTIONS = Path("/work/shared/data/mt_bench/question.jsonl")


def write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def load(path: Path, **fields: object) -> ResponsesFileModel:
    spec = ResponsesFileSpec.model_validate({"provider": "responses", "path": path, **fields})
    return ResponsesFileModel(spec)


def mt_answer(qid: int, model: str, turns: list[str], *more: list[str]) -> dict[str, object]:
    choices = [{"index": i, "turns": t} for i, t in enumerate([turns, *more])]
    return {
        "question_id": qid,
        "answer_id": f"ans-{qid}-{model}",
        "model_id": model,
        "choices": choices,
        "tstamp": 1700000000.0,
    }


def first_question_ids(n: int) -> list[int]:
    """Real MT-Bench ids when the shared data is there, so the key format is the real one."""
    if not MT_BENCH_QUESTIONS.exists():
        return list(range(81, 81 + n))
    lines = MT_BENCH_QUESTIONS.read_text(encoding="utf-8").splitlines()[:n]
    return [json.loads(line)["question_id"] for line in lines]


# MT-Bench -------------------------------------------------------------------------------------


@pytest.fixture
def mt_bench_dir(tmp_path: Path) -> Path:
    q1, q2 = first_question_ids(2)
    folder = tmp_path / "model_answer"
    folder.mkdir()
    write_jsonl(
        folder / "alpha.jsonl",
        [
            mt_answer(q1, "alpha", ["a1 turn0", "a1 turn1"], ["a1 s1 turn0", "a1 s1 turn1"]),
            mt_answer(q2, "alpha", ["a2 turn0", "a2 turn1"]),
        ],
    )
    write_jsonl(folder / "beta.jsonl", [mt_answer(q1, "beta", ["b1 turn0", "b1 turn1"])])
    return folder


def test_mt_bench_directory_filtered_by_model(mt_bench_dir: Path) -> None:
    q1, q2 = first_question_ids(2)
    model = load(mt_bench_dir, model="alpha")
    assert model.format == "mt_bench"
    assert model.lookup(str(q1), 0, "ignored").text == "a1 turn0"
    assert model.lookup(str(q1), 1, "ignored").text == "a1 turn1"
    assert model.lookup(str(q1), 1, "ignored", sample_index=1).text == "a1 s1 turn1"
    assert model.lookup(str(q2), 1, "ignored").text == "a2 turn1"
    beta = load(mt_bench_dir, model="beta")
    assert beta.lookup(str(q1), 0, "").text == "b1 turn0"
    gap = beta.lookup(str(q2), 0, "")
    assert gap.error == f"no answer for prompt {q2} turn 0 in {mt_bench_dir}"
    assert gap.text is None


def test_mt_bench_gaps_for_missing_turn_and_sample(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [mt_answer(7, "m", ["only turn"])])
    model = load(path)
    assert model.lookup("7", 0, "").ok
    assert model.lookup("7", 1, "").error == f"no answer for prompt 7 turn 1 in {path}"
    assert model.lookup("7", 0, "", sample_index=3).error == (
        f"no answer for prompt 7 turn 0 sample 3 in {path}"
    )
    assert not model.lookup("8", 0, "").ok


def test_several_models_without_choice_is_an_error(mt_bench_dir: Path) -> None:
    with pytest.raises(ValueError, match=r"several models \(alpha, beta\)"):
        load(mt_bench_dir)


def test_unknown_model_lists_available(mt_bench_dir: Path) -> None:
    with pytest.raises(ValueError, match="no answers from model 'gamma'; it has: alpha, beta"):
        load(mt_bench_dir, model="gamma")


def test_mt_bench_malformed_choice_names_line_and_field(tmp_path: Path) -> None:
    good = mt_answer(1, "m", ["fine"])
    bad = mt_answer(2, "m", ["fine"])
    bad["choices"] = [{"index": 0, "turns": ["ok", 42]}]
    path = write_jsonl(tmp_path / "m.jsonl", [good, bad])
    expected = r"m\.jsonl:2: field 'choices\[0\]\.turns\[1\]' must be str"
    with pytest.raises(ValueError, match=expected):
        load(path, format="mt_bench")


# AlpacaEval -----------------------------------------------------------------------------------


def alpaca_file(tmp_path: Path, items: list[dict[str, object]]) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(items, indent=2), encoding="utf-8")
    return path


def test_alpaca_eval_matches_first_turn_text(tmp_path: Path) -> None:
    path = alpaca_file(
        tmp_path,
        [
            {"instruction": "What is 2+2?", "output": "4", "generator": "gpt", "dataset": "x"},
            {"instruction": "Name a colour.", "output": "Blue", "generator": "gpt"},
            {"instruction": "What is 2+2?", "output": "four", "generator": "claude"},
        ],
    )
    model = load(path, model="gpt")
    assert model.format == "alpaca_eval"
    assert model.lookup("p1", 0, "What is 2+2?").text == "4"
    assert model.lookup("p2", 0, "  Name a colour.\n").text == "Blue"
    gap = model.lookup("p2", 1, "Name a colour.")
    assert gap.error == f"no answer for prompt p2 turn 1 in {path}"
    assert model.lookup("p3", 0, "Unasked?").error == f"no answer for prompt p3 turn 0 in {path}"
    assert load(path, model="claude").lookup("p1", 0, "What is 2+2?").text == "four"


def test_alpaca_eval_bad_item_names_its_line(tmp_path: Path) -> None:
    path = alpaca_file(
        tmp_path,
        [
            {"instruction": "a", "output": "b", "generator": "g"},
            {"instruction": "c", "generator": "g"},
        ],
    )
    with pytest.raises(ValueError, match=r"outputs\.json:7: missing field 'output'"):
        load(path)


def test_alpaca_eval_not_a_list(tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text('{"instruction": "a"}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"outputs\.json:1: expected a JSON list"):
        load(path)


# onpar JSONL ----------------------------------------------------------------------------------


def test_onpar_defaults_and_explicit_turns(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "answers.jsonl",
        [
            {"prompt_id": "single", "text": "one"},
            {"prompt_id": "multi", "turn_index": 0, "text": "first"},
            {"prompt_id": "multi", "text": "last"},
            {"prompt_id": "single", "sample_index": 1, "turn_index": 0, "text": "one again"},
        ],
    )
    model = load(path)
    assert model.format == "onpar"
    assert model.lookup("single", 0, "").text == "one"
    assert model.lookup("single", 0, "", sample_index=1).text == "one again"
    assert model.lookup("multi", 0, "").text == "first"
    assert model.lookup("multi", 1, "").text == "last"
    assert model.lookup("multi", 1, "", n_turns=2).text == "last"
    assert not model.lookup("multi", 1, "", n_turns=3).ok  # turn 2 is the last one


def test_onpar_turnless_answer_is_not_an_earlier_turn_given_n_turns(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "answers.jsonl", [{"prompt_id": "p", "text": "final"}])
    model = load(path)
    assert not model.lookup("p", 0, "", n_turns=2).ok
    assert model.lookup("p", 1, "", n_turns=2).text == "final"


def test_onpar_model_filter_keeps_unlabelled_answers(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "answers.jsonl",
        [
            {"prompt_id": "p", "text": "from a", "model": "a"},
            {"prompt_id": "p", "text": "from b", "model": "b"},
            {"prompt_id": "q", "text": "anyone"},
        ],
    )
    model = load(path, model="b")
    assert model.lookup("p", 0, "").text == "from b"
    assert model.lookup("q", 0, "").text == "anyone"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"prompt_id": "p"}', "missing field 'text'"),
        ('{"prompt_id": 3, "text": "t"}', "field 'prompt_id' must be str, got int"),
        ('{"prompt_id": "p", "text": "t", "turn_index": "0"}', "field 'turn_index' must be int"),
        ('{"prompt_id": "p", "text": "t", "turn_index": true}', "field 'turn_index' must be int"),
        ('{"prompt_id": "p", "text": "t", "sample_index": -1}', "'sample_index' must not be neg"),
        ('{"prompt_id": "p", "txt": "t"}', "unknown field 'txt'"),
        ('{"prompt_id": "p", "text": "t"', "invalid JSON"),
        ('["p", "t"]', "expected a JSON object, got list"),
        ('{"prompt_id": "ok", "text": "again"}', "duplicate answer for prompt ok last turn"),
    ],
)
def test_onpar_malformed_line_names_file_line_and_field(
    tmp_path: Path, line: str, message: str
) -> None:
    path = tmp_path / "answers.jsonl"
    path.write_text('{"prompt_id": "ok", "text": "fine"}\n\n' + line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"answers\.jsonl:3: ") as info:
        load(path, format="onpar")
    assert message in str(info.value)


# detection, identity and the ChatModel surface ------------------------------------------------


def test_unrecognised_jsonl_asks_for_format(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "odd.jsonl", [{"id": 1, "answer": "x"}])
    with pytest.raises(ValueError, match=r"odd\.jsonl:1: cannot tell the format"):
        load(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.jsonl"):
        load(tmp_path / "nope.jsonl")


def test_relative_path_resolved_against_base_dir(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "answers.jsonl", [{"prompt_id": "p", "text": "t"}])
    spec = ResponsesFileSpec(provider="responses", path=Path("answers.jsonl"))
    model = ResponsesFileModel(spec, base_dir=tmp_path)
    assert model.path == tmp_path / "answers.jsonl"
    assert model.lookup("p", 0, "").text == "t"


def test_identity_tracks_content(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "answers.jsonl", [{"prompt_id": "p", "text": "v1"}])
    before = load(path).identity()
    assert before["provider"] == "responses" and before["format"] == "onpar"
    write_jsonl(path, [{"prompt_id": "p", "text": "v2"}])
    after = load(path).identity()
    assert before["sha256"] != after["sha256"]
    assert {k: v for k, v in before.items() if k != "sha256"} == {
        k: v for k, v in after.items() if k != "sha256"
    }


def test_chat_model_surface(tmp_path: Path) -> None:
    model = load(write_jsonl(tmp_path / "a.jsonl", [{"prompt_id": "p", "text": "t"}]))
    assert isinstance(model, ChatModel)
    assert model.preferred_batch_size >= 1
    messages = [Message(role="user", content="hi")]
    assert json.loads(model.render(messages)) == [{"role": "user", "content": "hi"}]
    request = ChatRequest(messages=tuple(messages), params=GenerationParams())
    with pytest.raises(NotImplementedError, match="lookup"):
        model.generate([request])
    with pytest.raises(LogprobsUnsupportedError):
        model.score_options([messages], ["A"])
    model.close()
