"""Attribution patterns of real news, each asserting the speaker, the sieve and the quote's offsets."""

from __future__ import annotations

import pytest

from pipeline.enrich import Enricher
from pipeline.enrich.attribution import DEFAULT_SIEVES, SIEVES, check_sieve_names
from pipeline.errors import ConfigError
from pipeline.settings import load_settings
from tests.conftest import enrich_text as enrich


def direct(enricher: Enricher, body: str) -> list:
    return [q for q in enrich(enricher, body).quotes if q.kind == "direct"]


def located(body: str, text: str) -> tuple[int, int]:
    start = body.index(text)
    return start, start + len(text)


def test_apposition_names_the_spokeswoman_not_her_company(enricher):
    body = ('"The hotel will stay open through the holidays," a spokeswoman for Trump Hotels, '
            "Jennifer Rodstrom, said on Tuesday.")
    [quote] = direct(enricher, body)
    assert quote.speaker == "Jennifer Rodstrom" and quote.speaker_label == "PERSON"
    assert (quote.start, quote.end) == located(body, "The hotel will stay open through the holidays")
    assert quote.cue == "said" and quote.attribution in SIEVES


def test_unnamed_spokesperson_is_the_body(enricher):
    body = ("Lantern Foods said sales fell. "
            '"We expect the second half to be stronger than the first," a spokeswoman for Lantern Foods said.')
    [quote] = direct(enricher, body)
    assert quote.speaker == "Lantern Foods"


def test_role_noun_before_the_name(enricher):
    body = ('"Job losses on this scale affect the mental health of a whole town," said psychologist Nancy Molitor.')
    [quote] = direct(enricher, body)
    assert (quote.speaker, quote.attribution) == ("Nancy Molitor", "trigram")
    assert (quote.start, quote.end) == located(body, "Job losses on this scale affect the mental health of a whole town")


def test_representative_with_suffix_and_party_tag(enricher):
    body = ("Rep. Emanuel Cleaver II (D-Mo.) criticised the bill on Monday. "
            '"They took the tax breaks and now they are walking away," Cleaver said.')
    result = enrich(enricher, body)
    [quote] = [q for q in result.quotes if q.kind == "direct"]
    assert quote.speaker == "Emanuel Cleaver II"
    assert "Cleaver" not in {e.name for e in result.entities}


def test_name_then_apposition_with_an_organisation(enricher):
    body = ('"This is a painful decision for everyone here," said Jeffrey Bewkes, the chief executive of '
            "Time Warner, on Thursday.")
    result = enrich(enricher, body)
    [quote] = [q for q in result.quotes if q.kind == "direct"]
    assert quote.speaker == "Jeffrey Bewkes"
    assert {e.name: e.label for e in result.entities}.get("Time Warner") == "ORG"


def test_the_republican_lawmaker_is_the_lawmaker_named_before(enricher):
    body = ("Sen. Tim Scott of South Carolina voted against the measure on Friday. "
            '"This bill spends money we do not have on programs nobody asked for," the Republican lawmaker said.')
    [quote] = direct(enricher, body)
    assert quote.speaker == "Tim Scott"
    assert (quote.start, quote.end) == located(body, "This bill spends money we do not have on programs nobody asked for")


def test_the_state_and_party_of_a_representative(enricher):
    body = ("Rep. Emanuel Cleaver II (D-Mo.) called the closure a betrayal. "
            "The Missouri Democrat said he would ask the Commerce Department to review the grants.")
    reported = [q for q in enrich(enricher, body).quotes if q.kind == "indirect"]
    assert [(q.speaker, q.cue) for q in reported] == [("Emanuel Cleaver II", "said")]


def test_x_told_y_is_x_speaking(enricher):
    body = ('"We will not raise prices this year," Marta Okafor told Reuters in an interview.\n\n'
            "Okafor told the Financial Times that the company would keep its factories open.")
    result = enrich(enricher, body)
    assert [(q.kind, q.speaker) for q in result.quotes] == [("direct", "Marta Okafor"), ("indirect", "Marta Okafor")]
    indirect = result.quotes[1]
    assert (indirect.start, indirect.end) == located(body, "the company would keep its factories open")
    assert indirect.cue == "told"


def test_speaker_named_after_a_long_quote(enricher):
    body = ('"We have waited for this moment for a very long time. The families have waited longer than anyone. '
            'Today we can finally tell them that the people responsible will face a court," said Ana Duarte, '
            "the lead prosecutor, outside the courthouse.")
    [quote] = direct(enricher, body)
    assert quote.speaker == "Ana Duarte"
    assert quote.end == body.index('," said')


def test_quote_over_paragraphs_attributed_at_its_end(enricher):
    body = ("The mayor spoke for twenty minutes.\n\n"
            '"We rebuilt the bridge in eleven months.\n\n'
            '"We rebuilt the school in nine, and nobody believed we could," Mayor Sofia Reyes said.')
    quotes = direct(enricher, body)
    assert [q.speaker for q in quotes] == ["Sofia Reyes", "Sofia Reyes"]
    assert quotes[0].attribution == "paragraph_chain"
    assert (quotes[0].start, quotes[0].end) == located(body, "We rebuilt the bridge in eleven months.")


def test_a_capital_speaking_is_a_place(enricher):
    body = "Beijing said on Monday that the new tariffs would hurt both economies."
    [quote] = enrich(enricher, body).quotes
    assert (quote.kind, quote.speaker, quote.speaker_label) == ("indirect", "Beijing", "GPE")


@pytest.mark.parametrize(
    ("body", "content", "speaker", "cue", "sieve"),
    [
        ("Blinken said Israel must do more to protect civilians.",
         "Israel must do more to protect civilians", "Antony Blinken", "said", "reported_clause"),
        ("Israel must do more to protect civilians, Blinken said.",
         "Israel must do more to protect civilians", "Antony Blinken", "said", "reported_inverted"),
        ("On top of safe areas, Blinken said, it would be important to have communications in place.",
         "it would be important to have communications in place", "Antony Blinken", "said", "reported_inverted"),
        ("According to Blinken, the pauses must apply to a broader area.",
         "the pauses must apply to a broader area", "Antony Blinken", "according to", "according_to_clause"),
    ],
)
def test_indirect_quotes(enricher, body, content, speaker, cue, sieve):
    body = "Secretary of State Antony Blinken visited Tel Aviv on Thursday. " + body
    reported = [q for q in enrich(enricher, body).quotes if q.kind == "indirect"]
    assert [(q.text, q.speaker, q.cue, q.attribution) for q in reported] == [(content, speaker, cue, sieve)]
    assert (reported[0].start, reported[0].end) == located(body, content)


@pytest.mark.parametrize("body", [
    "Asked what she would miss, Williams paused.",
    "The minister did not say whether the plan would go ahead.",
    "Mayor Johnson urged the council to approve the budget.",
    'She said: "We will rebuild every house on this street."',
])
def test_not_reported_speech(enricher, body):
    assert [q.text for q in enrich(enricher, body).quotes if q.kind == "indirect"] == []


def test_sieves_can_be_switched_off(enricher):
    body = '"We will not stop until the job is done," said Pieter van Dijk, a crane operator.'
    without = Enricher(sieves=[s for s in DEFAULT_SIEVES if s != "trigram"])
    without._nlp, without._attributor = enricher.nlp, None
    without._attributor = type(enricher.attributor)(enricher.attributor.cues, without.sieves)
    assert [(q.speaker, q.attribution) for q in direct(enricher, body)] == [("Pieter van Dijk", "trigram")]
    assert [(q.speaker, q.attribution) for q in direct(without, body)] == [("Pieter van Dijk", "dependency")]


def test_unknown_sieve_is_refused():
    with pytest.raises(ValueError, match="unknown attribution sieve"):
        check_sieve_names(["trigram", "crystal_ball"])


def test_sieves_setting(tmp_path, monkeypatch):
    config = tmp_path / "newswire.yaml"
    config.write_text("nlp:\n  sieves: [trigram, dependency]\n", encoding="utf-8")
    assert load_settings(config).nlp.sieves == ["trigram", "dependency"]
    monkeypatch.setenv("NEWSWIRE_NLP__SIEVES", "trigram,previous_quote")
    assert load_settings(config).nlp.sieves == ["trigram", "previous_quote"]
    monkeypatch.setenv("NEWSWIRE_NLP__SIEVES", "trigram,crystal_ball")
    with pytest.raises(ConfigError, match="nlp.sieves: unknown attribution sieve.*crystal_ball"):
        Enricher(sieves=load_settings(config).nlp.sieves)


def test_every_sieve_says_what_it_reads():
    for name, sieve in SIEVES.items():
        assert sieve.__doc__ and sieve.reads is not None, name
        assert sieve.kind in ("direct", "indirect")


def test_the_58_year_old_is_the_person_of_that_age(enricher):
    body = ("Marta Okafor, 58, has run the bakery on Mill Street since 1991.\n\n"
            '"We are not closing, whatever the landlord says," the 58-year-old said.')
    [quote] = direct(enricher, body)
    assert (quote.speaker, quote.attribution) == ("Marta Okafor", "trigram")
    assert (quote.start, quote.end) == located(body, "We are not closing, whatever the landlord says")
