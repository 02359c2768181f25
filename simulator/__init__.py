"""The agency simulator: a separate HTTP service playing the agencies bokji links data from.

Deterministic synthetic answers per registration number (the same number always gets the same
income and assets), single and bulk queries, and switches for latency, error rate and outage per
agency. Real agency endpoints replace it by configuration alone (BOKJI_AGENCY_URL_<AGENCY>).
"""
