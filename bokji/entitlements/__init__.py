"""Entitlements: one open case or active benefit per beneficiary unit and service."""
