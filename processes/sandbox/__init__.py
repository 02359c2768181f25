"""The sandbox: everything a model evaluates runs here, and only here.

Designers' conditions, timer expressions, DMN cells and scripts are untrusted input. Two layers:

- `policy`: an AST allowlist checked at deploy (refusals name the construct) and again in the child
  before compiling; it also inserts the guards that bound integer sizes and sequence repetition.
- `pool` (host side) and `child` (the other side): a small pool per process of child Python
  processes started by executing `child.py` (never a fork of a process holding settings, keys or
  database connections). Each child has CPU-time, memory and open-file limits, no network, no files,
  no child processes (seccomp, `PR_SET_NO_NEW_PRIVS`), an empty environment and, when the platform
  runs as root, an unprivileged uid in an empty chroot. JSON in, JSON out (`codec`).

`helpers` are the only functions a model can call besides its task data. Nothing here imports
SpiffWorkflow; `processes/evaluator.py` adapts this to the engine.
"""


def N_(message: str) -> str:
    """Marks a catalog text (Babel extracts it) in the modules the child imports, which import only the
    standard library: the child has no catalog. Errors carry the text's id and named parameters, and the
    host words them in the reader's language (`pool.SandboxFailure.said`, `policy.Refused.said`)."""
    return message
