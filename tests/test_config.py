from decimal import Decimal
from pathlib import Path

import pytest

from creditgauge.config import load_config, resolve_key
from creditgauge.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_valid_config_keeps_amounts_exact(tmp_path: Path) -> None:
    path = write(
        tmp_path, '[accounts.main]\nprovider = "openai"\nkey_env = "OPENAI_ADMIN_KEY"\nmonthly_limit = "200.10"\n'
    )
    config = load_config(path)
    account = config.account("main")
    assert account.name == "main"
    assert account.monthly_limit == Decimal("200.10")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[accounts.a]\nprovider = "openia"\nkey_env = "K"\n', "accounts.a.provider: unknown provider 'openia'"),
        ('[accounts.a]\nprovider = "openai"\nkey_env = "K"\nmonthly_limit = "2x"\n', "accounts.a.monthly_limit"),
        ('[accounts.a]\nprovider = "openai"\nkey_env = "K"\nmonthly_limit = 200.1\n', "quoted string"),
        ('[accounts.a]\nprovider = "openai"\nkey_env = "K"\ncolour = "red"\n', "accounts.a.colour: unknown field"),
        ('[accounts.a]\nkey_env = "K"\n', "accounts.a.provider: required field is missing"),
        ("[accounts.a\n", "not valid TOML"),
        (
            '[[alerts.rules]]\nname = "low"\nkind = "balance_below"\nchannels = ["ops"]\n',
            "channel 'ops' is not defined",
        ),
    ],
)
def test_bad_config_gives_one_line_naming_file_and_key(tmp_path: Path, body: str, expected: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    assert expected in message
    assert "\n" not in message


def test_missing_key_variable_names_the_variable(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[accounts.a]\nprovider = "openai"\nkey_env = "MY_OPENAI_ADMIN"\n'))
    with pytest.raises(ConfigError, match="MY_OPENAI_ADMIN is not set"):
        resolve_key(config.account("a"), env={})
    assert resolve_key(config.account("a"), env={"MY_OPENAI_ADMIN": " sk-admin-x \n"}) == "sk-admin-x"


def test_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("sk-admin-from-file\n")
    config = load_config(write(tmp_path, f'[accounts.a]\nprovider = "openai"\nkey_file = "{key_file}"\n'))
    assert resolve_key(config.account("a"), env={}) == "sk-admin-from-file"
    key_file.unlink()
    with pytest.raises(ConfigError, match="cannot be read"):
        resolve_key(config.account("a"), env={})


def test_unknown_account_lists_known_ones(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[accounts.a]\nprovider = "openai"\nkey_env = "K"\n'))
    with pytest.raises(ConfigError, match=r"no account named 'b'.*accounts: a"):
        config.account("b")


def test_missing_file_is_empty_unless_required(tmp_path: Path) -> None:
    assert load_config(tmp_path / "nope.toml").accounts == {}
    with pytest.raises(ConfigError, match="creditgauge init"):
        load_config(tmp_path / "nope.toml", required=True)
