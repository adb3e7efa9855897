"""Stop sequences over streamed text."""

from __future__ import annotations

from storybang.inference.stops import StopScanner


def run(stops: list[str], deltas: list[str]) -> tuple[list[str], bool]:
    scanner = StopScanner(stops)
    sent = [scanner.feed(d) for d in deltas]
    if not scanner.stopped:
        sent.append(scanner.flush())
    return [s for s in sent if s], scanner.stopped


def test_text_ends_before_the_stop_sequence() -> None:
    assert run(["END"], ["once upon ", "a time END and more"]) == (["once upon ", "a time "], True)


def test_a_stop_split_across_deltas_is_never_sent_in_part() -> None:
    sent, stopped = run(["<|end|>"], ["the fox <|", "en", "d|> after"])
    assert "".join(sent) == "the fox "
    assert stopped


def test_a_held_tail_that_was_not_a_stop_is_sent_after_all() -> None:
    sent, stopped = run(["\n\n"], ["line one\n", "line two"])
    assert "".join(sent) == "line one\nline two"
    assert not stopped


def test_the_earliest_of_several_stops_wins() -> None:
    assert run(["b", "a"], ["xxab"]) == (["xx"], True)


def test_text_after_the_stop_is_dropped() -> None:
    scanner = StopScanner(["."])
    assert scanner.feed("Done. More") == "Done"
    assert scanner.feed(" and more") == ""


def test_no_stops_sends_everything_at_once() -> None:
    assert run([], ["a", "b"]) == (["a", "b"], False)
