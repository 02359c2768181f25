"""The engine adapter: the only package that imports SpiffWorkflow.

- `parsing`: deploy validation, our BPMN extension vocabulary, parsing into specs
- `cache`: parsed specs per stored version
- `runtime`: one instance in memory (start/restore, advance, complete waits, save)
- `evaluator`: the one place expressions and scripts are evaluated
- `bpmn/`: the process library deployed at start-up
"""
