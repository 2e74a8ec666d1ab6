"""EventBridge locally: event patterns (:mod:`.patterns`, pure), rules and their targets (:mod:`.rules`)."""
