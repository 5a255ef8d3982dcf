"""Running a test more than once: dataset rows, repeats, prompt/model/parameter variants, and the A/B
comparisons between variants (their statistics come from `pytest_llmops.stats`)."""
