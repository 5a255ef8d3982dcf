"""What calls cost: each interaction parsed into an `LLMCall` by a provider adapter, its usage and price,
the per-test budgets, the session ledger shared by xdist workers, and the `llm_usage` view."""
