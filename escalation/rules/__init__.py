"""The policy's rules: what each command may do to a case, and the events it causes.

`decide` is pure: given the case, the pack, the calendar, the directory and the time, it either
refuses (changing nothing) or returns the events the command causes. It never sends or stores.
Who may see the case and who may act on it is asked of `escalation.access`, as the cards ask it,
so a button is offered exactly when the command would pass those checks.

Which rule each command runs is in `verbs.py`; each rule lives in the module of its concern.
"""

from escalation.rules.context import Context
from escalation.rules.raising import decide_raise
from escalation.rules.verbs import decide

__all__ = ["Context", "decide", "decide_raise"]
