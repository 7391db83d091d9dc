"""`creditgauge demo`: fake providers with a generated, realistic history, synced into a throwaway database, with
tracked traffic through the recording proxy, clearly marked as demo data."""

from creditgauge.demo.build import DemoHandle, build_demo
from creditgauge.demo.scenario import Scenario

__all__ = ["DemoHandle", "Scenario", "build_demo"]
