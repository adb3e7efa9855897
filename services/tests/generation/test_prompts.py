"""A story asks the model for the tokens its length needs, and what a cut-off answer keeps."""

from __future__ import annotations

import pytest

from storybang.generation import prompts
from storybang.settings import GenerationSettings

LIMIT = GenerationSettings().max_tokens  # generation.max_tokens by default


def test_a_short_childrens_story_asks_for_its_words_not_for_every_token_a_job_may_have() -> None:
    words = prompts.PARAGRAPHS["short"] * prompts.WORDS_PER_PARAGRAPH["children"]  # 4 x 45
    budget = prompts.story_tokens("short", "children", "en", LIMIT)
    assert words * prompts.WORDS_HEADROOM * 1.3 < budget < LIMIT / 2  # room for 1.3 tokens a word, and more
    assert budget == 402


@pytest.mark.parametrize(
    ("smaller", "larger"),
    [
        (("short", "children"), ("medium", "children")),
        (("medium", "children"), ("long", "children")),
        (("short", "children"), ("short", "young")),
        (("short", "young"), ("short", "general")),
    ],
)
def test_a_longer_story_or_an_older_audience_asks_for_more(smaller: tuple[str, str], larger: tuple[str, str]) -> None:
    limit = 100_000
    assert prompts.story_tokens(*smaller, "en", limit) < prompts.story_tokens(*larger, "en", limit)


def test_a_story_longer_than_the_limit_asks_for_the_limit() -> None:
    assert prompts.story_tokens("long", "general", "en", 1024) == 1024


@pytest.mark.parametrize("length", prompts.PARAGRAPHS)
@pytest.mark.parametrize("audience", prompts.WORDS_PER_PARAGRAPH)
@pytest.mark.parametrize("language", ["en", "es", "fr", "de"])
def test_the_default_limit_holds_every_story_in_the_languages_of_fewer_tokens_a_word(
    length: str, audience: str, language: str
) -> None:
    unlimited = prompts.story_tokens(length, audience, language, 100_000)
    assert prompts.story_tokens(length, audience, language, LIMIT) == unlimited  # never cut by the limit


def test_a_language_of_more_tokens_a_word_asks_for_more() -> None:
    english = prompts.story_tokens("short", "children", "en", LIMIT)
    assert prompts.story_tokens("short", "children", "ja", LIMIT) > english
    assert prompts.story_tokens("short", "children", "de-AT", LIMIT) > english
    assert prompts.story_tokens("short", "children", "es", LIMIT) == english


def test_a_paragraph_asks_for_one_paragraph_of_its_audience() -> None:
    children = prompts.paragraph_tokens("children", "en", LIMIT)
    assert prompts.WORDS_PER_PARAGRAPH["children"] * 1.3 < children < prompts.paragraph_tokens("general", "en", LIMIT)
    assert prompts.paragraph_tokens("general", "en", 32) == 32


def test_a_story_cut_mid_sentence_keeps_its_title_and_whole_sentences() -> None:
    text = "The Brave Fox\n\nPip found a map. He ran to the hill!\n\nAt the top, Mo said \u201cLook.\u201d Then it bl"
    title, paragraphs = prompts.parse_story(text, "fallback", cut=True)
    assert title == "The Brave Fox"
    assert paragraphs == ["Pip found a map. He ran to the hill!", "At the top, Mo said \u201cLook.\u201d"]


def test_a_story_cut_as_a_paragraph_began_leaves_that_paragraph_out() -> None:
    text = "The Brave Fox\n\nPip found a map.\n\nThe next morning"
    assert prompts.parse_story(text, "fallback", cut=True) == ("The Brave Fox", ["Pip found a map."])


def test_a_story_cut_in_its_first_sentence_keeps_what_there_is() -> None:
    text = "The Brave Fox\n\nOnce upon a time a fox"
    assert prompts.parse_story(text, "fallback", cut=True) == ("The Brave Fox", ["Once upon a time a fox"])


def test_a_cut_story_without_a_title_line_gets_the_fallback_title_and_whole_sentences() -> None:
    text = "Pip found a map in the woods near the old oak tree. " * 4 + "He ran home to"  # one long first line
    title, paragraphs = prompts.parse_story(text, "A fox and a map", cut=True)
    assert title == "A fox and a map"
    assert len(paragraphs) == 1 and paragraphs[0].endswith("old oak tree.")


def test_a_story_that_ended_on_its_own_is_kept_whole() -> None:
    text = "The Brave Fox\n\nPip found a map.\n\nThe End"
    assert prompts.parse_story(text, "fallback") == ("The Brave Fox", ["Pip found a map.", "The End"])


def test_a_paragraph_cut_mid_sentence_keeps_its_whole_sentences() -> None:
    assert prompts.parse_paragraph("Pip ran. Mo laughed and then she", cut=True) == "Pip ran."
    assert prompts.parse_paragraph("Pip ran and then", cut=True) == "Pip ran and then"


def test_a_japanese_story_cut_mid_sentence_ends_at_its_last_full_stop() -> None:
    text = "\u72d0\u306e\u5730\u56f3\n\n\u72d0\u304c\u8d70\u3063\u305f\u3002\u305d\u3057\u3066"
    assert prompts.parse_story(text, "fallback", cut=True)[1] == ["\u72d0\u304c\u8d70\u3063\u305f\u3002"]


def test_a_story_without_blank_lines_is_split_at_its_line_breaks() -> None:
    text = "The Brave Fox\nPip found a map.\nMo read it with him."
    assert prompts.parse_story(text, "fallback") == ("The Brave Fox", ["Pip found a map.", "Mo read it with him."])


def test_a_cut_paragraph_that_never_ended_a_sentence_is_kept_whole() -> None:
    run_on = "and the fox ran and ran " * 4  # a small model's loop, no sentence to end it at
    text = f"The Brave Fox\n\nPip found a map.\n\n{run_on}"
    assert prompts.parse_story(text, "fallback", cut=True) == ("The Brave Fox", ["Pip found a map.", run_on.strip()])


def test_a_whole_story_on_one_line_becomes_paragraphs_of_about_the_asked_length() -> None:
    sentences = [f"Sentence {n} tells how Pip the fox walked on through the quiet wood." for n in range(12)]
    text = " ".join(sentences)  # no title line, no breaks: all of it one block of 12 sentences of 13 words
    title, paragraphs = prompts.parse_story(text, "A fox and a map", paragraph_words=45)
    assert title == "A fox and a map"
    assert [len(p.split()) for p in paragraphs] == [52, 52, 52]  # 45 words reached in each fourth sentence
    assert " ".join(paragraphs) == text  # nothing lost, nothing reordered


def test_a_short_last_sentence_joins_the_paragraph_before_it() -> None:
    text = "Title\n\n" + "Pip ran far. " * 30 + "The end."
    paragraphs = prompts.parse_story(text, "fallback", paragraph_words=45)[1]
    assert [len(p.split()) for p in paragraphs] == [45, 47]
    assert paragraphs[-1].endswith("Pip ran far. The end.")


def test_paragraphs_of_fitting_length_are_not_broken() -> None:
    text = "Title\n\n" + "Pip ran far. " * 25 + "\n\nMo read the map."
    paragraphs = prompts.parse_story(text, "fallback", paragraph_words=45)[1]
    assert len(paragraphs) == 2
