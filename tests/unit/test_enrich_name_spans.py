"""Whole names on news the model was not trained for (issue 16, round 2), with the real spaCy pipeline:
particles and double-barrelled surnames, post-nominals, organisation names joined by "and"/"&" or
going on after their head noun, headlines in title case, acronyms written as words, and the speakers
these names lead to. The texts are written for these tests, not taken from the evaluation sets."""

from __future__ import annotations

from pipeline.enrich.entities import surname
from pipeline.enrich.name_spans import PARTICLES, POST_NOMINALS, person_shaped
from tests.conftest import enrich_text as enrich


def labels(result) -> dict[str, str]:
    return {e.name: e.label for e in result.entities}


def test_particles_and_post_nominals_come_from_nameparser():
    assert {"van", "der", "dos", "ter", "dela", "ní"} <= PARTICLES
    assert "san" not in PARTICLES and "st" not in PARTICLES  # they open place names
    assert {"qc", "kc", "mbe"} <= POST_NOMINALS


def test_surname_keeps_its_particles():
    assert surname("Jan-Pieter van der Berg") == "van der Berg"
    assert surname("Emanuel Cleaver II") == "Cleaver"


def test_person_shaped_double_barrelled_names():
    assert person_shaped(["Torsten", "Halvorsen-Bakke"])
    assert not person_shaped(["Halvorsen-Bakke"])
    assert not person_shaped(["Torsten", "Halvorsen"])


def test_double_barrelled_surname_is_a_person_and_speaks(enricher):
    body = ('Torsten Halvorsen-Bakke, who heads research at the bank, expects two more cuts.\n\n'
            '"The economy is turning," Halvorsen-Bakke said.')
    result = enrich(enricher, body)
    assert labels(result).get("Torsten Halvorsen-Bakke") == "PERSON"
    assert [q.speaker for q in result.quotes if q.kind == "direct"] == ["Torsten Halvorsen-Bakke"]


def test_post_nominal_letters_are_not_part_of_the_name(enricher):
    body = ('Opening the case, Eleanor Whitcombe KC told the jury that the scheme was "a fraud from the start".\n\n'
            '"Every figure in the brochure was invented," she said.')
    result = enrich(enricher, body)
    names = labels(result)
    assert names.get("Eleanor Whitcombe") == "PERSON"
    assert not any("KC" in name for name in names)
    assert {q.speaker for q in result.quotes if q.kind == "direct"} == {"Eleanor Whitcombe"}


def test_organisation_name_joined_by_and(enricher):
    body = ("Figures released on Monday by Canada Mortgage and Housing Corporation showed starts fell.")
    names = labels(enrich(enricher, body))
    assert names.get("Canada Mortgage and Housing Corporation") == "ORG"
    assert "Canada Mortgage" not in names and "Housing Corporation" not in names


def test_title_case_headline_keeps_only_what_the_body_names(enricher):
    title = "Chipmaker Veltrane Semiconductor Rallies On Strong Orders"
    body = "Shares in Veltrane Semiconductor rose 9 percent in Seoul on Tuesday after the company raised its forecast."
    names = labels(enrich(enricher, body, title=title))
    assert not any("Rallies" in name or name.startswith("Chipmaker") for name in names)


def test_acronym_written_as_a_word_joins_its_expansion(enricher):
    body = ("The Rail Accident Investigation Branch (Raib) opened an inquiry on Friday. "
            "Raib said its inspectors would examine the signals.")
    result = enrich(enricher, body)
    raib = [e for e in result.entities if e.name == "Rail Accident Investigation Branch"]
    assert raib and "Raib" in raib[0].aliases
    assert "Raib" not in labels(result)


def test_demonym_speaker_is_the_person_before(enricher):
    body = ('Rhodri Llewellyn-Parry, the club\'s manager, said on Friday he was happy with the squad.\n\n'
            '"We have enough quality to stay up," the Welshman said.')
    result = enrich(enricher, body)
    assert [q.speaker for q in result.quotes if q.kind == "direct"] == ["Rhodri Llewellyn-Parry"]
    assert "Welshman" not in labels(result)
