from decimal import Decimal
from pathlib import Path

import pytest

from creditgauge.config import load_config, resolve_key
from creditgauge.connectors.gemini import GeminiOptions
from creditgauge.connectors.xai import XAIOptions
from creditgauge.errors import ConfigError
from creditgauge.providers.record import ProviderOptions


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


# ---- provider options: flat in the account's table, validated by the provider's own model ---------------------


def test_provider_options_are_read_by_the_providers_model(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[accounts.x]\nprovider = "xai"\nkey_env = "K"\nteam_id = "t-42"\n'
                                         '[accounts.g]\nprovider = "gemini"\ngcp_project = "p"\n'
                                         '[accounts.o]\nprovider = "openai"\nkey_env = "K"\n'))
    xai = config.account("x").provider_options(XAIOptions)
    assert (xai.team_id, xai.management_base_url) == ("t-42", None)
    gemini = config.account("g").provider_options(GeminiOptions)
    assert (gemini.gcp_project, gemini.billing_table) == ("p", None)
    assert config.account("o").options == ProviderOptions()
    with pytest.raises(ConfigError, match="provider 'openai' has options ProviderOptions, not XAIOptions"):
        config.account("o").provider_options(XAIOptions)


@pytest.mark.parametrize(
    ("account", "expected"),
    [
        ('provider = "xai"\nteam = "t"',
         "accounts.a.team: unknown field: remove it or check its spelling against the README's config reference "
         "(provider 'xai' takes the common fields and: management_base_url, team_id)"),
        ('provider = "openai"\nteam_id = "t"',
         "accounts.a.team_id: unknown field: remove it or check its spelling against the README's config "
         "reference (provider 'openai' takes only the common fields; team_id is an option of xai)"),
        ('provider = "openai-legacy"\ngcp_project = "p"',
         "(provider 'openai-legacy' takes the common fields and: session_key_env; gcp_project is an option of "
         "gemini)"),
        ('provider = "xai"\noptions = {team_id = "t"}', "accounts.a.options: unknown field"),
        ('provider = "xai"\nteam_id = 7', "accounts.a.team_id: Input should be a valid string"),
    ],
)
def test_a_provider_option_out_of_place_is_refused_with_the_valid_ones(tmp_path: Path, account: str,
                                                                       expected: str) -> None:
    path = write(tmp_path, f'[accounts.a]\nkey_env = "K"\n{account}\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert expected in str(info.value) and "\n" not in str(info.value)
