"""Chat formats of the Llama 2 paper's open models, rendered exactly as their reference code does.

For models without a usable chat template. Each format knows the system prompt its reference
code uses when none is given (``default_system``) and the one the Llama 2 paper used for it in
its human evaluation (``paper_system``, Table 31; see /work/shared/LLAMA2_PROTOCOL.md).

- ``llama2`` — Meta's `llama/generation.py` (`chat_completion`): the system prompt is folded
  into the first user turn between ``<<SYS>>`` markers; every completed (user, answer)
  exchange is tokenized on its own with BOS and EOS; the open final user turn gets BOS only.
  Defined at token level, so it is rendered as `Segment`s, not one string.
- ``vicuna_v1.1`` — FastChat `conversation.py`, template ``vicuna_v1.1``
  (``SeparatorStyle.ADD_COLON_TWO``, sep ``" "``, sep2 ``"</s>"``, roles USER/ASSISTANT).
- ``falcon_instruct`` — FastChat template ``falcon`` (``SeparatorStyle.RWKV``, roles
  User/Assistant, stop string ``"\\nUser"``): the system text is prepended as is, turns end
  with a blank line, and blank lines inside earlier turns are collapsed.
- ``mpt_chat`` — ChatML as MosaicML's MPT-chat demos and FastChat's ``mpt-30b-chat``
  template (``SeparatorStyle.CHATML``) render it; stops at ``<|im_end|>``.

The string formats contain special tokens as text (``</s>``, ``<|im_end|>``); backends
tokenize them with special-token parsing and the tokenizer's own BOS rule, as FastChat does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from onpar.records import Message

ChatFormatName = Literal["llama2", "vicuna_v1.1", "falcon_instruct", "mpt_chat"]
CHAT_FORMAT_NAMES: tuple[str, ...] = get_args(ChatFormatName)

B_INST, E_INST = "[INST]", "[/INST]"
B_SYS, E_SYS = "<<SYS>>\n", "\n<</SYS>>\n\n"

LLAMA2_DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful, respectful and honest assistant. Always answer as helpfully as possible, "
    "while being safe. Your answers should not include any harmful, unethical, racist, sexist, "
    "toxic, dangerous, or illegal content. Please ensure that your responses are socially "
    "unbiased and positive in nature.\n\nIf a question does not make any sense, or is not "
    "factually coherent, explain why instead of answering something not correct. If you don't "
    "know the answer to a question, please don't share false information."
)
# Table 31 of the paper; FastChat's `vicuna_v1.1` default is the same text.
VICUNA_SYSTEM_PROMPT = (
    "A chat between a curious user and an artificial intelligence assistant. The assistant "
    "gives helpful, detailed, and polite answers to the user's questions."
)
# Table 31 prints it wrapped in ChatML markers ("<|im_start|> system … <|im_end|>"); the
# markers belong to the format, this is the content (MosaicML's MPT-chat demo default).
MPT_SYSTEM_PROMPT = (
    "A conversation between a user and an LLM-based AI assistant. "
    "The assistant gives helpful and honest answers."
)


@dataclass(frozen=True)
class Segment:
    """Text tokenized on its own, preceded by BOS and (for finished exchanges) followed by EOS."""

    text: str
    add_eos: bool


@dataclass(frozen=True)
class ChatFormat:
    """A named prompt format: how a conversation becomes text, and where an answer stops."""

    name: str
    default_system: str | None
    paper_system: str
    stop: tuple[str, ...]
    render_text: Callable[[Sequence[Message]], str] | None  # None: token level (segments)

    @property
    def token_level(self) -> bool:
        return self.render_text is None


def llama2_segments(messages: Sequence[Message]) -> list[Segment]:
    """Split a conversation into the segments Meta's reference code tokenizes separately."""
    turns = list(messages)
    if turns and turns[0].role == "system":
        system, *turns = turns
        if not turns or turns[0].role != "user":
            raise ValueError("llama2 format: a system prompt must be followed by a user turn")
        turns[0] = Message(role="user", content=B_SYS + system.content + E_SYS + turns[0].content)
    _check_alternation("llama2", [m.role for m in turns])
    segments = [
        Segment(f"{B_INST} {user.content.strip()} {E_INST} {answer.content.strip()} ", add_eos=True)
        for user, answer in zip(turns[0::2], turns[1::2], strict=False)
    ]
    segments.append(Segment(f"{B_INST} {turns[-1].content.strip()} {E_INST}", add_eos=False))
    return segments


def _check_alternation(name: str, roles: list[str]) -> None:
    expected = ["user", "assistant"] * (len(roles) // 2) + ["user"] * (len(roles) % 2)
    if not roles or roles != expected or roles[-1] != "user":
        raise ValueError(
            f"{name} format: turns must alternate user/assistant and end with a user turn; "
            f"got {roles}"
        )


def _split_system(
    name: str, messages: Sequence[Message], default: str | None
) -> tuple[str | None, list[Message]]:
    """The system text (the format's default when none is given) and the alternating turns."""
    turns = list(messages)
    system = default
    if turns and turns[0].role == "system":
        system, turns = turns[0].content, turns[1:]
    _check_alternation(name, [m.role for m in turns])
    return system, turns


def _vicuna(messages: Sequence[Message]) -> str:
    """FastChat ADD_COLON_TWO: system + " ", then "ROLE: text" + (" " after user, "</s>" after
    assistant), and a bare "ASSISTANT:" for the answer to come."""
    system, turns = _split_system("vicuna_v1.1", messages, VICUNA_SYSTEM_PROMPT)
    text = (system or "") + " "
    for message in turns:
        if message.role == "user":
            text += f"USER: {message.content} "
        else:
            text += f"ASSISTANT: {message.content}</s>"
    return text + "ASSISTANT:"


def _falcon(messages: Sequence[Message]) -> str:
    """FastChat RWKV style: system as is, then "Role: text" + blank line per turn; earlier turns
    get CRLF → LF and a blank line collapsed to one newline, as FastChat does."""
    system, turns = _split_system("falcon_instruct", messages, None)
    text = system or ""
    for message in turns:
        role = "User" if message.role == "user" else "Assistant"
        content = message.content.replace("\r\n", "\n").replace("\n\n", "\n")
        text += f"{role}: {content}\n\n"
    return text + "Assistant:"


def _chatml(messages: Sequence[Message]) -> str:
    """ChatML: "<|im_start|>role\\ntext<|im_end|>\\n" per message, then the assistant's header."""
    system, turns = _split_system("mpt_chat", messages, MPT_SYSTEM_PROMPT)
    text = f"<|im_start|>system\n{system}<|im_end|>\n" if system else ""
    for message in turns:
        text += f"<|im_start|>{message.role}\n{message.content}<|im_end|>\n"
    return text + "<|im_start|>assistant\n"


CHAT_FORMATS: dict[str, ChatFormat] = {
    "llama2": ChatFormat("llama2", None, LLAMA2_DEFAULT_SYSTEM_PROMPT, (), None),
    "vicuna_v1.1": ChatFormat(
        "vicuna_v1.1", VICUNA_SYSTEM_PROMPT, VICUNA_SYSTEM_PROMPT, (), _vicuna
    ),
    "falcon_instruct": ChatFormat(
        "falcon_instruct", None, LLAMA2_DEFAULT_SYSTEM_PROMPT, ("\nUser",), _falcon
    ),
    "mpt_chat": ChatFormat(
        "mpt_chat", MPT_SYSTEM_PROMPT, MPT_SYSTEM_PROMPT, ("<|im_end|>",), _chatml
    ),
}


def chat_format(name: str) -> ChatFormat:
    """The format called `name`; an unknown name lists the known ones."""
    if name not in CHAT_FORMATS:
        raise ValueError(f"unknown chat format {name!r}; known: {', '.join(CHAT_FORMATS)}")
    return CHAT_FORMATS[name]


def paper_system_prompt(chat_format_name: str | None) -> str:
    """The system prompt the Llama 2 paper used (Table 31) for a model in this format.

    Vicuna and MPT got their own; Llama 2-Chat, Falcon, ChatGPT and PaLM got Llama 2's
    default, so every other format (a chat template, an API) gets that one.
    """
    if chat_format_name in CHAT_FORMATS:
        return CHAT_FORMATS[chat_format_name].paper_system
    return LLAMA2_DEFAULT_SYSTEM_PROMPT


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """`text` up to the first stop string, and whether one was found."""
    positions = [text.find(s) for s in stops if s and s in text]
    if not positions:
        return text, False
    return text[: min(positions)], True
