"""Health and readiness now; SLA clocks, dashboards and Prometheus metrics grow here (ROADMAP §2)."""
