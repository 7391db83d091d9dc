"""The use cases both faces call."""
