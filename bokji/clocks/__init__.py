"""Legal clocks: each case's statutory processing deadline on the offices' calendar, its pauses and extensions,
warnings and the escalation of a breach (issue 15)."""
