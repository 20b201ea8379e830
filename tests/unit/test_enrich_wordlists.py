"""The word lists in pipeline/enrich/data/: sourced, free of duplicates, each entry in the right list."""

from __future__ import annotations

import pytest

from pipeline.enrich.cues import CueLexicon
from pipeline.enrich.names import plural
from pipeline.enrich.wordlists import DATA_DIR, entries, list_names, word_list, word_table

LOWER_CASE = [
    "acronym_stopwords", "direction_words", "female_names", "female_titles", "male_names", "male_titles",
    "name_suffixes", "office_modifiers", "org_nouns", "person_nouns", "person_titles", "place_nouns",
    "reporting_verbs", "spokesperson_nouns", "title_heads",
]
CAPITALISED = ["country_abbreviations", "department_words", "kinship_words", "org_first_words", "org_words", "place_words"]
# Lists that must not share an entry: a word in both belongs in one of them only (or in neither).
EXCLUSIVE = [
    ("male_names", "female_names"),
    ("male_titles", "female_titles"),
    ("org_words", "place_words"),
    ("org_nouns", "place_nouns"),
    ("org_nouns", "person_nouns"),
    ("place_nouns", "person_nouns"),
    ("person_titles", "office_modifiers"),
    ("direction_words", "place_nouns"),
]


def test_every_list_is_either_lower_case_or_capitalised():
    assert sorted(LOWER_CASE + CAPITALISED) == list_names()


@pytest.mark.parametrize("name", list_names())
def test_list_says_what_it_is_and_where_it_comes_from(name):
    lines = (DATA_DIR / f"{name}.txt").read_text(encoding="utf-8").splitlines()
    comments = [line for line in lines if line.startswith("#")]
    assert lines[0].startswith("# ") and len(lines[0]) > 20
    assert any(line.startswith("# Source: ") for line in comments)


@pytest.mark.parametrize("name", list_names())
def test_list_has_no_duplicates(name):
    words = entries(DATA_DIR / f"{name}.txt")
    folded = [w.casefold() for w in words]
    assert len(folded) == len(set(folded)), sorted({w for w in folded if folded.count(w) > 1})
    assert all(" " not in w and "\t" not in w for w in words), "one word a line"


@pytest.mark.parametrize("name", LOWER_CASE)
def test_lower_case_lists(name):
    assert all(w == w.lower() for w in word_list(name))


@pytest.mark.parametrize("name", CAPITALISED)
def test_capitalised_lists(name):
    assert all(w[:1].isupper() for w in word_list(name))


@pytest.mark.parametrize(("first", "second"), EXCLUSIVE)
def test_entries_belong_to_one_list(first, second):
    shared = {w.casefold() for w in word_list(first)} & {w.casefold() for w in word_list(second)}
    assert not shared, f"in both {first} and {second}: {sorted(shared)}"


def test_small_words_are_only_in_the_stopword_list():
    """'of', 'the', 'for' join the parts of a title; they are not titles (they belong in acronym_stopwords)."""
    small = word_list("acronym_stopwords")
    for name in list_names():
        if name != "acronym_stopwords":
            assert not small & {w.lower() for w in word_list(name)}, name


def test_plural_place_nouns_are_derived_not_listed():
    plurals = {plural(w) for w in word_list("place_nouns")}
    assert not plurals & word_list("direction_words")
    assert not plurals & word_list("place_nouns")


def test_gendered_titles_are_titles_and_spokespeople_are_people():
    assert word_list("male_titles") | word_list("female_titles") <= word_list("person_titles")
    assert word_list("spokesperson_nouns") <= word_list("person_nouns")
    assert word_list("name_suffixes").isdisjoint(word_list("person_titles"))


def test_tables_map_lower_case_variants_once():
    for name in ("canonical_names", "role_synonyms"):
        lines = entries(DATA_DIR / f"{name}.tsv")
        variants = [line.split("\t")[0] for line in lines]
        assert all("\t" in line for line in lines)
        assert len(variants) == len(set(variants)) and all(v == v.lower() for v in variants)
    roles = word_table("role_synonyms")
    assert set(roles) <= word_list("person_nouns") | word_list("person_titles")


def test_lists_are_loaded_once():
    assert word_list("org_nouns") is word_list("org_nouns")


def test_reporting_verbs_are_lemmas_matched_through_their_inflections(enricher):
    lexicon = CueLexicon.from_pipeline(enricher.nlp)
    verbs = word_list("reporting_verbs")
    for verb in verbs:
        assert lexicon.forms.get(verb) == verb, f"{verb!r} is an inflection of {lexicon.forms.get(verb)!r}"
    for form, lemma in {"said": "say", "told": "tell", "wrote": "write", "testified": "testify",
                        "quipped": "quip", "tweeting": "tweet", "denies": "deny", "urged": "urge"}.items():
        assert lexicon.forms.get(form) == lemma, form
