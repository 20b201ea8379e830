"""Runtimes wire the same stage objects together: in one process (embedded) or through Kafka."""
