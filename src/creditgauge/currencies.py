"""Currency codes a person types: ISO 4217 only (the maintained list of the `iso4217` package), so a typo such as
`XYZ` or `dollars` cannot create a balance in a currency that does not exist; and how many decimals each shows."""

from __future__ import annotations

from iso4217 import Currency

from creditgauge.errors import ConfigError


def iso_currency(text: str, *, where: str = "--currency") -> str:
    """The upper-case ISO 4217 code for `text`, or a ConfigError naming `where` and the fix."""
    code = text.strip().upper()
    try:
        Currency(code)
    except ValueError:
        raise ConfigError(f"{where} {text!r} is not an ISO 4217 currency code; use a three-letter code such as "
                          "USD, EUR or CNY") from None
    return code


def minor_digits(code: str) -> int:
    """The decimals of a currency's minor unit: 2 for USD, 0 for JPY, 3 for KWD. A code outside ISO 4217 (or one
    with no minor unit, such as gold) shows cents."""
    try:
        exponent = Currency(code.upper()).exponent
    except ValueError:
        return 2
    return 2 if exponent is None else exponent
