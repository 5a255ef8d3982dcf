"""What a session produced: per-test records and scores, the baseline and its gates, the end of the
session (compare, write, exit status) and the report, a pure model with one printer per format."""
