"""Decision notices: the outcome, the reasons and the appeal deadline, kept as issued."""
