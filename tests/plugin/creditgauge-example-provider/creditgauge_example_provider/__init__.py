"""An example provider plugin: the balance of one regional wallet, `GET /v1/wallet?region=<region>`, where the
region is an option of its own (`region = "eu"` in the account's table)."""

from __future__ import annotations

from collections.abc import Sequence

from creditgauge.connectors.base import Connector, EndpointTask, amount_field, require
from creditgauge.domain import BalanceSnapshot, Capability, Fact, Window, utcnow
from creditgauge.providers.record import Provider, ProviderOptions

WALLET_PATH = "/v1/wallet"


class ExampleOptions(ProviderOptions):
    region: str  # the wallet to read: each region has its own


class ExampleConnector(Connector):
    provider = "example"
    capabilities = frozenset({Capability.BALANCE})
    default_base_url = "https://api.example.invalid"
    key_help = "the example console > keys (exk-...)"
    notes = "balance of the configured region's wallet"

    def tasks(self) -> list[EndpointTask]:
        return [EndpointTask("wallet", self.fetch_wallet, windowed=False)]

    async def fetch_wallet(self, window: Window) -> Sequence[Fact]:
        region = self.account.provider_options(ExampleOptions).region
        body = await self.client.get_json(WALLET_PATH, {"region": region})
        endpoint = f"GET {WALLET_PATH}"
        return [BalanceSnapshot(as_of=utcnow(), amount=amount_field(body, "balance", self, endpoint),
                                currency=str(require(body, "currency", self, endpoint)), details={"region": region})]


PROVIDER = Provider(connector=ExampleConnector, options=ExampleOptions, key_patterns=(r"exk-[a-z0-9]{12,}",))
