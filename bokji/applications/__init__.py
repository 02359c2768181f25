"""Applications: one application (applicant, household, services, consents) opens one case per service."""
