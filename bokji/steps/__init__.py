"""The step coordinator: every change to a running instance goes through here.

A step takes the instance's lock, loads its run, completes what it waited for (a human task, a job, a
timer, a message, an operator's retry), advances the engine, and writes the state, history, tasks,
jobs and incidents — all in the caller's transaction; jobs reach Redis after its commit. Routes,
workers, the scheduler and the CLI call these functions; `instances`, `tasks`, `jobs` and
`definitions` are row-level services that never call back into a step.
"""
