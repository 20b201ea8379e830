"""Speaker attribution with the real spaCy pipeline: each pattern in a small text."""

from __future__ import annotations

import pytest

from pipeline.enrich import Enricher
from tests.conftest import enrich_text as enrich


def direct(result) -> list:
    """The direct quotes (reported speech is tested in test_enrich_reported.py)."""
    return [q for q in result.quotes if q.kind == "direct"]


def speakers(enricher: Enricher, body: str) -> list[str | None]:
    return [q.speaker for q in direct(enrich(enricher, body))]


def test_attribution_after_the_quote_gives_the_full_name(enricher):
    body = (
        "Secretary of State Antony Blinken met officials in Washington on Thursday.\n\n"
        '"There does remain a gap between intent and results," Blinken said.'
    )
    result = enrich(enricher, body)
    assert [(q.speaker, q.speaker_label) for q in direct(result)] == [("Antony Blinken", "PERSON")]
    assert result.speakers == ["Antony Blinken"]


def test_inverted_said_name_with_apposition(enricher):
    body = '"We are not going back until the company makes an offer," said Pieter van Dijk, a crane operator.'
    assert speakers(enricher, body) == ["Pieter van Dijk"]


def test_told_reporters(enricher):
    body = (
        "Crane's lawyer, Steven Marsh, said his client would appeal. "
        '"The sentence is far harsher than anything in comparable cases," Marsh told reporters outside the courthouse.'
    )
    assert speakers(enricher, body) == ["Steven Marsh"]


def test_according_to_before_the_quote(enricher):
    body = (
        "Investors included OpenAI chief executive Sam Altman. "
        'According to Altman, "fusion is the most important technology that nobody is watching."'
    )
    assert speakers(enricher, body) == ["Sam Altman"]


def test_colon_introduction_with_pronoun(enricher):
    body = (
        "Senator James Lankford of Oklahoma said he still supported the bill. "
        'He said: "I spent four months on this bill and I would vote for it again tomorrow."'
    )
    assert speakers(enricher, body) == ["James Lankford"]


def test_colon_introduction_without_reporting_verb(enricher):
    body = (
        "Vice President Kamala Harris urged Congress to act on Tuesday.\n\n"
        'Harris was blunt when asked about the opposition: "They killed a deal they had negotiated themselves."'
    )
    assert speakers(enricher, body) == ["Kamala Harris"]


@pytest.mark.parametrize("verb", ["told reporters", "added", "warned", "wrote", "insisted", "admitted", "argued", "noted"])
def test_reporting_verbs_beyond_said(enricher, verb):
    body = f'Chief executive Katrin Vogel spoke on Thursday. "We should have caught this much earlier," Vogel {verb}.'
    assert speakers(enricher, body) == ["Katrin Vogel"]


def test_pronoun_resolves_to_the_subject_not_the_nearer_object(enricher):
    body = (
        "Sporting director Lars Henning said the decision was taken after a meeting with Stefan Brandt. "
        '"We had to act before it was too late for the club," he said.'
    )
    assert speakers(enricher, body) == ["Lars Henning"]


def test_pronoun_skips_a_person_of_the_other_gender(enricher):
    body = (
        "Finance Minister Bruno Le Maire and Treasury Secretary Janet Yellen met in Rio on Friday.\n\n"
        'Yellen rejected the idea. "Going it alone would invite retaliation from everyone," she said.\n\n'
        'Mr. Le Maire disagreed. "France will go ahead with its own tax this summer," he said.'
    )
    assert speakers(enricher, body) == ["Janet Yellen", "Bruno Le Maire"]


def test_unattributed_quote_follows_the_previous_speaker(enricher):
    body = (
        '"I have given this sport everything I had for twenty years," Léa Moreau told a news conference. '
        '"My body is telling me it is time to stop."\n\n'
        '"I want to thank my coach and my family for every early morning."'
    )
    assert speakers(enricher, body) == ["Léa Moreau"] * 3


def test_split_quote_has_one_speaker(enricher):
    body = '"This was a hard decision," chief executive Priya Raman wrote, "and I take full responsibility for it."'
    assert speakers(enricher, body) == ["Priya Raman", "Priya Raman"]


def test_quote_over_several_paragraphs_shares_its_speaker(enricher):
    body = (
        "For Isla MacLeod, the trip back to the island was the first in sixty years.\n\n"
        '"My father kept the light here from 1958 until it was automated," she said. "We lived here in the summers.\n\n'
        '"There was no television and no telephone, just the sea and the birds.\n\n'
        '"I cried the day we left, and I think I cried again today."'
    )
    assert speakers(enricher, body) == ["Isla MacLeod"] * 4


def test_organisation_named_earlier_speaks_through_a_common_noun(enricher):
    body = (
        "The Ministry of Foreign Affairs in Tokyo said the ships stayed for 72 hours. "
        '"Such actions are unacceptable and we demand that the vessels leave," the ministry said in a statement.'
    )
    result = enrich(enricher, body)
    assert [(q.speaker, q.speaker_label) for q in direct(result)] == [("Ministry of Foreign Affairs", "ORG")]


def test_acronym_speaker_is_the_expanded_name(enricher):
    body = (
        "The National Highway Traffic Safety Administration (NHTSA) opened an evaluation on Monday. "
        '"The agency will continue to monitor the remedy closely," NHTSA wrote.'
    )
    assert speakers(enricher, body) == ["National Highway Traffic Safety Administration"]


def test_partial_quote_takes_the_sentence_subject(enricher):
    body = (
        "Professor Tom Sanders said the paper "
        '"does not separate the effect of the food from the lifestyles of the people" who eat it.'
    )
    assert speakers(enricher, body) == ["Tom Sanders"]


def test_participle_clause_takes_the_main_subject(enricher):
    body = 'Mayor Brandon Johnson unveiled a plan for a park, calling it "the biggest new green space in a generation".'
    assert speakers(enricher, body) == ["Brandon Johnson"]


def test_unnamed_speaker_is_null(enricher):
    body = 'Fire officials met on Monday. "The water came up to the windows in less than an hour," a resident said.'
    result = enrich(enricher, body)
    assert [(q.speaker, q.speaker_label) for q in direct(result)] == [(None, None)]


def test_unattributed_quote_after_a_sentence_about_a_person(enricher):
    body = (
        "Speaking in Lisbon on Sunday, Dmitri Osei, a spokesperson for Greenfield Energy, said he understood "
        'the anger. "What we are seeing now is that families in Lisbon deserve better answers." '
        'He added: "We are listening, and we will keep listening."'
    )
    assert speakers(enricher, body) == ["Dmitri Osei", "Dmitri Osei"]


def test_unclosed_quote_is_attributed(enricher):
    body = '"The wind shifted in about ten minutes and we had to leave, said Carla Mendes, a resident of the town.'
    result = enrich(enricher, body)
    assert [(q.text, q.speaker) for q in direct(result)] == [
        ("The wind shifted in about ten minutes and we had to leave", "Carla Mendes")
    ]


def test_speaker_named_only_by_surname_before_gets_the_full_name_from_later(enricher):
    body = (
        '"We will not accept any delay to the new metro line," Nakamura said on Monday.\n\n'
        "Hiroshi Nakamura, the transport minister, has promised to open it next year."
    )
    assert speakers(enricher, body) == ["Hiroshi Nakamura"]
