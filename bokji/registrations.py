"""Every automated-task handler and every calculation the platform runs, listed in one place.

Nothing registers itself by being imported: the step coordinator (bokji/steps) looks handlers and
calculations up here, and deploy checks a model's calculation names (and warns about topics
nobody handles) against these lists. Plugins and tests add handlers by naming modules in
BOKJI_HANDLER_MODULES; each exposes `HANDLERS`, a list of `Handler`s.
"""

from __future__ import annotations

import importlib
from functools import lru_cache, partial

from bokji.applications import handlers as intake
from bokji.config import get_settings
from bokji.jobs import builtin
from bokji.jobs.handlers import Handler
from bokji.linkage import handlers as linkage
from bokji.notices import handlers as notices
from bokji.payments import handlers as payments
from bokji.rules import benefits
from bokji.rules import calculations as rules
from processes.calculations import Calculation, Calculations

BUILT_IN: tuple[Handler, ...] = (
    Handler("bokji.noop", builtin.noop),
    Handler("intake.register", intake.register),
    Handler("linkage.collect", linkage.collect, outside_io=True),  # asks an agency
    Handler("linkage.summarise", linkage.summarise),
    Handler("linkage.household_means", linkage.household_means),
    Handler("linkage.obligor_means", linkage.obligor_means),
    Handler("payment.setup", payments.setup),
    Handler("payment.adjust", payments.adjust),
    Handler("payment.stop", payments.stop),
    Handler("notice.compose", notices.compose),
)

# The benefit rules: `benefit.assess` runs the case's own (by its catalog rule's kind); each rule is
# also listed under its own name and version (bokji/rules/benefits.py RULES).
CALCULATIONS: Calculations = {c.name: c for c in (
    Calculation(rules.ASSESS, rules.ASSESS_VERSION, rules.assess),
    Calculation(rules.AMOUNT, rules.AMOUNT_VERSION, rules.amount),
    *(Calculation(rule.name, rule.version, partial(rules.assess, kind=kind)) for kind, rule in benefits.RULES.items()),
    Calculation(rules.REVIEW_ROUND, rules.REVIEW_ROUND_VERSION, rules.review_round),
)}


@lru_cache
def handlers() -> dict[str, Handler]:
    """The platform's handlers and those of the modules BOKJI_HANDLER_MODULES names, by topic."""
    found: dict[str, Handler] = {}
    extra = [m.strip() for m in get_settings().handler_modules.split(",") if m.strip()]
    for handler in [*BUILT_IN, *(h for name in extra for h in importlib.import_module(name).HANDLERS)]:
        if handler.topic in found:
            raise ValueError(f"topic '{handler.topic}' has two handlers")
        found[handler.topic] = handler
    return found
