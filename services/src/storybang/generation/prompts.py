"""Prompts for each task, and the parsing of a story out of a model's text.

A story prompt asks for a title line, then paragraphs separated by blank lines, each with at most
two main characters, the chosen values woven into what happens rather than preached, and words
fit for the audience. Small models drift from any format, so the parser is forgiving.
"""

from __future__ import annotations

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


def parse_paragraph(text: str) -> str:
    """One paragraph out of a model's answer: blocks run together, a stray label or quotes dropped."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text.strip()) if b.strip()]
    folded = " ".join(" ".join(b.split()) for b in blocks)
    folded = re.sub(r"^(paragraph|p[aá]rrafo)\s*\d*\s*:\s*", "", folded, flags=re.IGNORECASE)
    return folded.strip().strip('"“”')


_TITLE_PREFIX = re.compile(r"^\s*(#+\s*|\*\*|title\s*:\s*|t[ií]tulo\s*:\s*)", re.IGNORECASE)


def parse_story(text: str, fallback_title: str) -> tuple[str, list[str]]:
    """Split a model's answer into a title and paragraphs; never fails on odd formatting."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text.strip()) if b.strip()]
    if not blocks:
        return fallback_title, []
    first_lines = blocks[0].splitlines()
    title = _TITLE_PREFIX.sub("", first_lines[0]).strip(" *\"'#")
    rest = "\n".join(first_lines[1:]).strip()
    paragraphs = ([rest] if rest else []) + blocks[1:]
    if len(title) > 120 or not paragraphs:  # no title line after all: the first block is story text
        return fallback_title, [" ".join(b.split()) for b in blocks]
    return title or fallback_title, [" ".join(p.split()) for p in paragraphs]


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
