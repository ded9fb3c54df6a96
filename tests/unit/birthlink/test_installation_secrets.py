"""`birthlink up` runs on keys and secrets of its own (issue 11, item 2): random
ones, made on the first start into a private env file beside the database and
read again on every later start; the environment wins; the sandbox it mounts
signs with the secrets its gateway checks."""

import os
import stat
from pathlib import Path
from typing import get_args

import pytest

from birthlink.installation import (
    DATA_KEYS,
    LOOKUP_KEY,
    default_secrets_file,
    development_settings,
    load_or_create,
    read_env_file,
    secret_names,
    write_env_file,
)
from birthlink.up import assemble, embedded_settings
from contracts.sealing import Keyring
from gateway.settings import DEV_DATA_KEYS, GatewaySettings
from sandbox.app import Sandbox
from sandbox.settings import DepartmentName


@pytest.fixture(autouse=True)
def no_outside_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("BIRTHLINK_"):
            monkeypatch.delenv(name)


def test_the_first_start_makes_a_private_file_of_random_values_and_the_second_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BIRTHLINK_DATABASE_URL", str(tmp_path / "birthlink.db"))

    first, path, made = embedded_settings()
    written = path.read_bytes()
    again, path_again, made_again = embedded_settings()

    assert path == tmp_path / "birthlink.secrets.env" == path_again
    assert (made, made_again) == (True, False)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == written
    assert set(read_env_file(path)) == set(secret_names())
    assert development_settings(first) == []
    for settings in (first, again):
        assert settings.data_keys.get_secret_value() == read_env_file(path)[DATA_KEYS]
        assert settings.department_secret("mps") == read_env_file(path)["BIRTHLINK_MPS_SECRET"]
    assert first.lookup_key == again.lookup_key


def test_two_installations_get_different_values(tmp_path: Path) -> None:
    one, _ = load_or_create(tmp_path / "one.env")
    two, _ = load_or_create(tmp_path / "two.env")

    assert all(one[name] != two[name] for name in secret_names())


def test_the_environment_wins_over_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BIRTHLINK_DATABASE_URL", str(tmp_path / "birthlink.db"))
    monkeypatch.setenv("BIRTHLINK_MPS_SECRET", "from-the-environment")
    monkeypatch.setenv(LOOKUP_KEY, "lookup-from-the-environment")

    settings, path, _ = embedded_settings()

    assert settings.department_secret("mps") == "from-the-environment"
    assert settings.lookup_key.get_secret_value() == "lookup-from-the-environment"
    assert settings.department_secret("hrss") == read_env_file(path)["BIRTHLINK_HRSS_SECRET"]


def test_a_file_named_in_the_environment_or_the_option_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BIRTHLINK_SECRETS_FILE", str(tmp_path / "env" / "mine.env"))
    assert default_secrets_file("postgresql+asyncpg://x/y") == tmp_path / "env" / "mine.env"

    _, path, made = embedded_settings(tmp_path / "option.env")

    assert (path, made) == (tmp_path / "option.env", True)


def test_a_file_is_never_overwritten_and_missing_values_are_added(tmp_path: Path) -> None:
    path = tmp_path / "s.env"
    write_env_file(path, {"BIRTHLINK_MPS_SECRET": "kept"})

    with pytest.raises(FileExistsError):
        write_env_file(path, {"BIRTHLINK_MPS_SECRET": "other"})
    values, made = load_or_create(path)

    assert not made
    assert values["BIRTHLINK_MPS_SECRET"] == "kept"
    assert read_env_file(path) == values
    assert set(values) == set(secret_names())


def test_a_database_from_before_keeps_opening_under_the_development_data_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "birthlink.db").write_bytes(b"SQLite format 3\x00 and rows")
    monkeypatch.setenv("BIRTHLINK_DATABASE_URL", str(tmp_path / "birthlink.db"))

    settings, _, _ = embedded_settings()

    ring = Keyring.parse(settings.data_keys.get_secret_value())
    dev = Keyring.parse(DEV_DATA_KEYS)
    assert ring.keys[ring.current] != dev.keys[dev.current]  # new values: the new key
    assert dev.keys[dev.current] in ring.keys.values()  # old values still open


def test_the_mounted_sandbox_signs_with_the_secrets_the_gateway_checks(tmp_path: Path) -> None:
    settings, _, _ = embedded_settings(tmp_path / "s.env")

    runtime, _ = assemble(settings, "127.0.0.1", 8765)

    sandbox = next(c for c in runtime.companions if isinstance(c, Sandbox))
    assert set(runtime.registry.departments) == set(get_args(DepartmentName))
    for department in get_args(DepartmentName):
        assert sandbox.settings.secret_for(department) == settings.department_secret(department)
        assert settings.department_secret(department) != f"dev-{department}-secret"


def test_operator_commands_read_the_file_beside_a_sqlite_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from birthlink.installation import operator_settings

    monkeypatch.setenv("BIRTHLINK_DATABASE_URL", str(tmp_path / "birthlink.db"))
    embedded, _, _ = embedded_settings()

    assert operator_settings().data_keys == embedded.data_keys
    monkeypatch.setenv("BIRTHLINK_DATABASE_URL", "postgresql://x/y")
    assert operator_settings().data_keys == GatewaySettings().data_keys
