"""The use cases both faces (CLI and web) call: one query, one set of columns each."""
