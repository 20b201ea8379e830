"""Quote finding from quote marks alone (no spaCy): pairing, apostrophes, scare quotes, nesting."""

from __future__ import annotations

import pytest

from pipeline.enrich.quotes import find_quotes


def texts(body: str) -> list[str]:
    return [body[q.start:q.end] for q in find_quotes(body)]


def test_straight_double_quotes():
    body = '"We will not stop until the job is done," she said.'
    assert texts(body) == ["We will not stop until the job is done"]


def test_curly_double_quotes():
    body = "“The roads remain blocked in many places,” said the spokesman."
    assert texts(body) == ["The roads remain blocked in many places"]


def test_offsets_point_into_the_body():
    body = 'Intro.\n\n"Every word of this quote is checked," he said.'
    for quote in find_quotes(body):
        assert body[quote.start:quote.end] == "Every word of this quote is checked"


def test_british_single_quotes_ignore_apostrophes():
    body = "‘We’ve been waiting since 2015 and we’re still waiting,’ said Ms Ashworth. ‘The traders’ patience ran out a long time ago.’"
    assert texts(body) == [
        "We’ve been waiting since 2015 and we’re still waiting",
        "The traders’ patience ran out a long time ago.",
    ]


def test_straight_single_quotes_and_possessives():
    body = "'It isn't perfect, but it's the biggest investment the valley's had,' he said of the residents' plan."
    assert texts(body) == ["It isn't perfect, but it's the biggest investment the valley's had"]


def test_split_quote_gives_two_quotes():
    body = '"This was a hard decision," she wrote, "and I take full responsibility for it."'
    assert texts(body) == ["This was a hard decision", "and I take full responsibility for it."]


def test_scare_quotes_of_one_to_three_words_are_not_quotes():
    body = 'He said the inquiry was not a "witch hunt" and called the fees "surprise" charges of a "very odd kind".'
    assert texts(body) == []


def test_partial_quote_of_four_words_inside_a_sentence():
    body = 'She said the plan was "a start, not a solution" for the town.'
    assert texts(body) == ["a start, not a solution"]


def test_nested_quotes_stay_inside_the_outer_quote():
    body = "\"He told me, 'Don't worry about me, just look after Mum,' and then the line went dead,\" Asher said."
    assert texts(body) == ["He told me, 'Don't worry about me, just look after Mum,' and then the line went dead"]


def test_british_outer_single_with_inner_double():
    body = "‘Every minister says “we are doing everything we can” but nothing changes,’ he said."
    assert texts(body) == ["Every minister says “we are doing everything we can” but nothing changes"]


def test_quote_over_several_paragraphs_is_chained():
    body = (
        '"When I started there were three of us in this building.\n\n'
        '"Today more than half of the judges here are women.\n\n'
        '"What I will miss most is the people," she said.'
    )
    quotes = find_quotes(body)
    assert [body[q.start:q.end] for q in quotes] == [
        "When I started there were three of us in this building.",
        "Today more than half of the judges here are women.",
        "What I will miss most is the people",
    ]
    assert len({q.chain for q in quotes}) == 1


def test_unclosed_quote_ends_at_its_attribution():
    body = '"The wind shifted in ten minutes and we had to leave, said Carla Mendes, a resident.'
    assert texts(body) == ["The wind shifted in ten minutes and we had to leave"]


def test_title_of_a_work_is_not_a_quote():
    assert texts('They watched "The Lord of the Rings" again.') == []


@pytest.mark.parametrize(
    "body",
    [
        '"',
        '""""',
        "'''",
        '" " " "',
        'He said "this is unbalanced and never closes',
        '“ ” ‘ ’ « » „ ‚',
        "It's 6'2\" tall and the '90s were rock 'n' roll years, don't you think",
        "\x00\x01 \"\ufffd\" ‮ binary \"",
        "",
    ],
)
def test_unbalanced_or_odd_marks_never_raise(body):
    for quote in find_quotes(body):
        assert 0 <= quote.start <= quote.end <= len(body)


def test_doubled_apostrophes_are_a_double_mark():
    body = "''We finally may be seeing some wage growth,'' said Ms. Hale, who called it ''a good start.''"
    assert texts(body) == ["We finally may be seeing some wage growth"]
    quote = find_quotes(body)[0]
    assert body[quote.open:quote.open + 1] == "'" and body[quote.close - 2:quote.close] == "''"
