"""Where ../shared lives next to the repository (absent in a fresh clone: tests that read it skip)."""

from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PROVIDER_APIS = SHARED / "provider-apis"
