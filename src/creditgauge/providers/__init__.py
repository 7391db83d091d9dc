"""What creditgauge knows of each provider: the record a provider module declares (`record`) and the lookups over
every registered record (`registry`). Below the store: it loads only pydantic and the standard library, and a
provider's connector module only when asked for."""
