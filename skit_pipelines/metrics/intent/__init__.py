"""Intent evaluation: scores, confusion matrices, breakdowns, charts and reports, computed from frames."""
