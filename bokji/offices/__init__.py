"""Offices: the reference table of the offices civil servants work in and cases belong to."""
