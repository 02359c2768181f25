"""Screening: which services could a household get, with the reasons and the recognised income."""
