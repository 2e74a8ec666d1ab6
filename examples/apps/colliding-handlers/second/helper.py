"""Tax rules (the Tax function's own helper module: same name as the Price function's)."""

RATE_PERCENT = 8
RULE = "flat 8%"
