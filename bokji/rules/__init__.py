"""Benefit rules: effective-dated parameters, the recognised-income calculation, and their traces.

Thresholds, eligibility and amounts are DMN tables in processes/bpmn/; the procedural part
(recognised income) is a registered, versioned Python calculation over the parameter tables here.
Every figure names its source; a figure not in the project's reference is marked `unverified`.
"""
