"""Evaluation of the enrichment stage against hand-labelled news articles."""
