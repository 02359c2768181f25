"""The case file: what happened to a case (its timeline), read from instances, tasks and jobs."""
