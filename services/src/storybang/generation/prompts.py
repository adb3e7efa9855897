"""Prompts for each task, and the parsing of a story out of a model's text.

A story prompt asks for a title line, then paragraphs separated by blank lines, each with at most
two main characters, the chosen values woven into what happens rather than preached, and words
fit for the audience. Small models drift from any format, so the parser is forgiving.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from storybang.generation.backends.base import Message

AUDIENCES = {
    "children": (
        "a picture book for children aged 4 to 8: short sentences, simple and concrete words, warmth "
        "and gentle humour, a little repetition, a reassuring ending; nothing frightening or violent"
    ),
    "young": (
        "young readers aged 9 to 14: lively dialogue, real stakes and a bit of suspense, characters who "
        "make choices and learn from them, no graphic violence"
    ),
    "general": "a general audience: rich language, depth of character, a satisfying arc",
}
PARAGRAPHS = {"short": 4, "medium": 7, "long": 12}
WORDS_PER_PARAGRAPH = {"children": 45, "young": 80, "general": 110}
# A model asked for "about 45 words" writes 40 to 60: what a job expects of it (for its progress)
# and asks it for (its token budget) leaves that much room.
WORDS_HEADROOM = 1.4
# Tokens a word takes: 1.25 to 1.65 in the bundled model's English stories (more with hyphens,
# names, dialogue); more in languages of longer words, and in those written without spaces, where
# "a word" is a character or two of a token or two each.
TOKENS_PER_WORD = 1.5
TOKENS_PER_WORD_IN = {"de": 2.0, "fi": 2.2, "pl": 2.2, "ja": 3.0, "zh": 3.0}
# The title line and the blank lines around it.
TITLE_TOKENS = 24
LANGUAGES = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "it": "Italian",
    "pt": "Portuguese",
    "ca": "Catalan",
    "nl": "Dutch",
    "pl": "Polish",
    "ja": "Japanese",
    "zh": "Chinese",
}


@dataclass(frozen=True)
class Cast:
    name: str
    description: str


def language_name(code: str) -> str:
    return LANGUAGES.get(code.split("-")[0].split("_")[0], code)


def tokens_per_word(language: str) -> float:
    return TOKENS_PER_WORD_IN.get(language.split("-")[0].split("_")[0], TOKENS_PER_WORD)


def story_words(length: str, audience: str) -> float:
    """The words a story of ``length`` for ``audience`` runs to, with the room a model takes."""
    return PARAGRAPHS[length] * WORDS_PER_PARAGRAPH[audience] * WORDS_HEADROOM


def paragraph_words(audience: str) -> float:
    return WORDS_PER_PARAGRAPH[audience] * WORDS_HEADROOM


def story_tokens(length: str, audience: str, language: str, limit: int) -> int:
    """The tokens to ask a backend for a story of ``length`` for ``audience``: enough for all of
    it, so that a long story is not cut, and no more, so that a short one ends on time (a small
    model runs on past the paragraphs asked for); never more than ``limit``
    (``generation.max_tokens``)."""
    return min(limit, TITLE_TOKENS + math.ceil(story_words(length, audience) * tokens_per_word(language)))


def paragraph_tokens(audience: str, language: str, limit: int) -> int:
    """The tokens to ask a backend for one paragraph for ``audience``, within ``limit``."""
    return min(limit, math.ceil(paragraph_words(audience) * tokens_per_word(language)))


def story_messages(
    *,
    prompt: str,
    audience: str,
    cast: list[Cast],
    genre: str | None,
    values: list[str],
    length: str,
    language: str,
) -> list[Message]:
    paragraphs = PARAGRAPHS[length]
    system = (
        f"You are a children's and fiction author writing for {AUDIENCES[audience]}. "
        f"Write in {language_name(language)}. "
        "Answer with the story only: the first line is the title (no quotes, no 'Title:'), then a blank line, "
        f"then exactly {paragraphs} paragraphs of about {WORDS_PER_PARAGRAPH[audience]} words, separated by blank "
        "lines. At most two main characters act in any one paragraph. No headings, no lists, no notes."
    )
    lines = [f"Story idea: {prompt.strip()}"]
    if genre:
        lines.append(f"Genre: {genre}")
    if cast:
        lines.append("Characters:")
        lines += [f"- {c.name}: {c.description.strip() or 'no description'}" for c in cast]
    if values:
        lines.append(
            "Values to weave into what the characters do (show them, never state a moral): " + ", ".join(values)
        )
    return [Message("system", system), Message("user", "\n".join(lines))]


# The story around the paragraph that the model sees: enough to keep names and tone, bounded so that
# a long story does not crowd a small model's context.
CONTEXT_PARAGRAPHS = 3


def paragraph_messages(
    *,
    title: str,
    paragraphs: list[str],
    index: int,
    rewrite: str,
    audience: str,
    language: str,
    wish: str = "",
) -> list[Message]:
    """Write paragraph ``index`` again (``regenerate``), or the paragraph after it (``continue``)."""
    system = (
        f"You are a children's and fiction author writing for {AUDIENCES[audience]}. "
        f"Write in {language_name(language)}. Answer with one paragraph of about "
        f"{WORDS_PER_PARAGRAPH[audience]} words and nothing else: no title, no notes, no quotes around it."
    )
    before = paragraphs[max(0, index - CONTEXT_PARAGRAPHS) : index]
    lines = [f"Story: {title}"]
    if rewrite == "continue":
        lines += ["The story so far ends:", *before, paragraphs[index]]
        after = paragraphs[index + 1 : index + 2]
        lines += [f"It goes on later with: {after[0]}"] if after else []
        lines.append("Write the next paragraph, carrying the story on from there.")
    else:
        lines += ["Before it:", *before] if before else []
        lines += [f"The paragraph to write again: {paragraphs[index]}"]
        after = paragraphs[index + 1 : index + 2]
        lines += [f"After it: {after[0]}"] if after else []
        lines.append("Write that paragraph again, differently, so that it still fits between them.")
    if wish.strip():
        lines.append(f"The author asks: {wish.strip()}")
    return [Message("system", system), Message("user", "\n".join(lines))]


# The end of a sentence: its mark (full-width ones too), then any closing quotes or brackets.
_SENTENCE_END = re.compile(r"""[.!?…。\uff01\uff1f]["'”\u2019»)\]」』]*""")


# Fewer words than this, and no sentence ended yet: a paragraph cut off as it began.
BEGUN_WORDS = 12


def _whole_sentences(paragraphs: list[str]) -> list[str]:
    """What to keep of paragraphs that the token budget cut off: the last one up to the end of its
    last whole sentence; with none ended, without it when it had barely begun (unless it is all
    there is), else whole: a small model's run-on has no sentence end to stop at."""
    if not paragraphs:
        return paragraphs
    ends = list(_SENTENCE_END.finditer(paragraphs[-1]))
    if ends:
        return [*paragraphs[:-1], paragraphs[-1][: ends[-1].end()]]
    if len(paragraphs[-1].split()) < BEGUN_WORDS:
        return paragraphs[:-1] or paragraphs
    return paragraphs


def parse_paragraph(text: str, *, cut: bool = False) -> str:
    """One paragraph out of a model's answer: blocks run together, a stray label or quotes dropped;
    when the token budget ``cut`` it off, its unfinished last sentence too."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text.strip()) if b.strip()]
    folded = " ".join(" ".join(b.split()) for b in blocks)
    folded = re.sub(r"^(paragraph|p[aá]rrafo)\s*\d*\s*:\s*", "", folded, flags=re.IGNORECASE)
    folded = _whole_sentences([folded])[0] if cut and folded else folded
    return folded.strip().strip('"“”')


def _blocks(text: str) -> list[str]:
    """Paragraphs apart: at blank lines, or, where a model put none, at each line break."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text.strip()) if b.strip()]
    if len(blocks) == 1:
        return [line.strip() for line in blocks[0].splitlines() if line.strip()]
    return blocks


_TITLE_PREFIX = re.compile(r"^\s*(#+\s*|\*\*|title\s*:\s*|t[ií]tulo\s*:\s*)", re.IGNORECASE)


def _reflow(paragraph: str, words: int) -> list[str]:
    """A wall of text (a small model's whole story on one line) as paragraphs of about ``words``
    words each, broken only where a sentence ends; a paragraph of fitting length stays whole."""
    if len(paragraph.split()) < 2 * words:
        return [paragraph]
    pieces: list[str] = []
    start = 0
    for end in _SENTENCE_END.finditer(paragraph):
        if len(paragraph[start : end.end()].split()) >= words:
            pieces.append(paragraph[start : end.end()].strip())
            start = end.end()
    tail = paragraph[start:].strip()
    if tail and pieces and len(tail.split()) < words // 2:
        pieces[-1] = f"{pieces[-1]} {tail}"  # a short last sentence joins the paragraph before it
    elif tail:
        pieces.append(tail)
    return pieces


def parse_story(
    text: str, fallback_title: str, *, cut: bool = False, paragraph_words: int | None = None
) -> tuple[str, list[str]]:
    """Split a model's answer into a title and paragraphs; never fails on odd formatting. When the
    token budget ``cut`` the answer off, the unfinished end of its last paragraph is left out; with
    ``paragraph_words``, a paragraph more than twice that long is broken at sentence ends."""
    blocks = _blocks(text)
    if not blocks:
        return fallback_title, []
    first_lines = blocks[0].splitlines()
    title = _TITLE_PREFIX.sub("", first_lines[0]).strip(" *\"'#")
    rest = "\n".join(first_lines[1:]).strip()
    paragraphs = ([rest] if rest else []) + blocks[1:]
    if len(title) > 120 or not paragraphs:  # no title line after all: the first block is story text
        title, paragraphs = fallback_title, blocks
    paragraphs = [" ".join(p.split()) for p in paragraphs]
    if cut:
        paragraphs = _whole_sentences(paragraphs)
    if paragraph_words:
        paragraphs = [piece for p in paragraphs for piece in _reflow(p, paragraph_words)]
    return title or fallback_title, paragraphs


def fallback_title(prompt: str) -> str:
    words = prompt.strip().split()
    return " ".join(words[:6]).rstrip(".,;:!?") or "Untitled story"


def translation_messages(text: str, source: str, target: str) -> list[Message]:
    return [
        Message(
            "system",
            f"Translate the user's text from {language_name(source)} to {language_name(target)}. "
            "Keep the paragraph breaks. Answer with the translation only.",
        ),
        Message("user", text),
    ]


def image_prompt(subject: str, *, style: str = "warm storybook illustration, soft colours") -> str:
    return f"{subject.strip()[:900]}. {style}."
