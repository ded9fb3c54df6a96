"""The keys and secrets of one installation (issue 11): made at random, kept in
an env file, and the built-in development ones refused by the production roles.

The settings have development defaults (`Keyring.development`, `dev-lookup-key`,
`dev-<department>-secret`) so that tests can build them in code; those values
are published, so encryption or signatures under them protect nothing.

- `birthlink up` (embedded mode) keeps an env file of random values next to its
  SQLite database (`birthlink.secrets.env`, mode 0600), made on first start and
  read on every later one; the environment still wins over it.
- `birthlink keys init FILE` writes the same kind of file for the production
  layout (docker-compose.yml reads it as its `env_file`).
- The production roles (gateway, orchestrator, relay, notifier, adapter) call
  `require_production_secrets` and refuse to start while any key or secret they
  use is a development one, naming the settings to fill.
"""

import os
import secrets
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from adapters._runtime.settings import AdapterSettings
from bus.sealed import DEV_BUS_KEYS
from contracts.profile import ALL_DEPARTMENTS as BUILTIN_DEPARTMENTS
from contracts.sealing import Keyring
from gateway.settings import DEV_DATA_KEYS, GatewaySettings

PREFIX = "BIRTHLINK_"
DATA_KEYS = "BIRTHLINK_DATA_KEYS"
BUS_KEYS = "BIRTHLINK_BUS_KEYS"
LOOKUP_KEY = "BIRTHLINK_LOOKUP_KEY"
SECRETS_FILE = "BIRTHLINK_SECRETS_FILE"
DEV_LOOKUP_KEY = "dev-lookup-key"
_DEV_KEYS = {
    key for ring in (DEV_DATA_KEYS, DEV_BUS_KEYS) for key in Keyring.parse(ring).keys.values()
}


class DevelopmentSecretsError(Exception):
    """A production role was given development keys or secrets."""

    def __init__(self, role: str, names: list[str]) -> None:
        self.role, self.names = role, names
        super().__init__(
            f"birthlink {role} refuses to start on the built-in development keys and "
            f"secrets (they are published). Set: {', '.join(names)}. "
            "`birthlink keys init birthlink.env` writes random ones to a file."
        )


def department_secret_name(department: str) -> str:
    return f"{PREFIX}{department.upper()}_SECRET"


def secret_names(departments: Iterable[str] = BUILTIN_DEPARTMENTS) -> list[str]:
    """Every setting that holds a key or a secret, by its environment name."""
    return [DATA_KEYS, BUS_KEYS, LOOKUP_KEY, *(department_secret_name(d) for d in departments)]


def generate(departments: Iterable[str] = BUILTIN_DEPARTMENTS) -> dict[str, str]:
    """Random values for every key and secret."""
    values = {
        DATA_KEYS: Keyring.generate("k1"),
        BUS_KEYS: Keyring.generate("b1"),
        LOOKUP_KEY: secrets.token_urlsafe(32),
    }
    values.update({department_secret_name(d): secrets.token_urlsafe(32) for d in departments})
    return values


def _is_development_ring(text: str) -> bool:
    try:
        ring = Keyring.parse(text)
    except ValueError:
        return False  # not a development key; the role fails on it with its own message
    return any(key in _DEV_KEYS for key in ring.keys.values())


def development_settings(
    gateway: GatewaySettings | None = None,
    adapter: AdapterSettings | None = None,
    *,
    departments: Iterable[str] = BUILTIN_DEPARTMENTS,
) -> list[str]:
    """The environment names of the keys and secrets that are development ones
    (any development key anywhere in a ring counts: it opens and forges)."""
    found: list[str] = []
    if gateway is not None:
        if _is_development_ring(gateway.data_keys.get_secret_value()):
            found.append(DATA_KEYS)
        if _is_development_ring(gateway.bus_keys.get_secret_value()):
            found.append(BUS_KEYS)
        if gateway.lookup_key.get_secret_value().strip() in ("", DEV_LOOKUP_KEY):
            found.append(LOOKUP_KEY)
        for department in departments:
            secret = gateway.department_secret(department)
            if not secret.strip() or secret == f"dev-{department}-secret":
                found.append(department_secret_name(department))
    if adapter is not None and _is_development_ring(adapter.bus_keys.get_secret_value()):
        found.append(BUS_KEYS)
    return list(dict.fromkeys(found))


def require_production_secrets(
    role: str,
    gateway: GatewaySettings | None = None,
    adapter: AdapterSettings | None = None,
) -> None:
    """Raise `DevelopmentSecretsError` when `role` would run on a development key or secret."""
    names = development_settings(gateway, adapter)
    if names:
        raise DevelopmentSecretsError(role, names)


# The env file ------------------------------------------------------------------

HEADER = (
    "# birthlink's keys and secrets for this installation, made at random by birthlink.\n"
    "# Keep this file private (mode 0600) and backed up: the data keys open what\n"
    "# the store holds; without them it is lost.\n"
)


def read_env_file(path: Path) -> dict[str, str]:
    """`NAME=value` lines; blank lines and `#` comments skipped."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"{path}: {line[:40]!r} is not NAME=value")
        values[name.strip()] = value.strip()
    return values


def write_env_file(path: Path, values: Mapping[str, str], *, replace: bool = False) -> None:
    """Write `values` to `path`, readable by its owner only. The file appears
    whole or not at all; without `replace`, an existing file is never touched
    (`FileExistsError`), so two first starts at once keep one set of keys."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = HEADER + "".join(f"{name}={value}\n" for name, value in values.items())
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails when the file exists: never overwrites
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def default_secrets_file(database_url: str) -> Path:
    """`BIRTHLINK_SECRETS_FILE`, or `<database>.secrets.env` beside a SQLite
    database (`birthlink.db`: `birthlink.secrets.env`), or in the working directory."""
    if os.environ.get(SECRETS_FILE):
        return Path(os.environ[SECRETS_FILE])
    return beside_database(database_url, ".secrets.env")


def beside_database(database_url: str, suffix: str) -> Path:
    """`<database><suffix>` beside a SQLite database, else `birthlink<suffix>`
    in the working directory."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(str(url.database)).with_suffix(suffix)
    return Path("birthlink" + suffix)


def load_or_create(
    path: Path, *, departments: Iterable[str] = BUILTIN_DEPARTMENTS, keep_dev_data_key: bool = False
) -> tuple[dict[str, str], bool]:
    """The installation's values from `path`, made at random on first use (and
    any that a later version added); whether the file was made now.
    `keep_dev_data_key`: a database from before this file exists, sealed under
    the development data key; that key stays second in the ring so that its
    values still open (`birthlink keys rotate-data` moves them)."""
    departments = list(departments)
    if not path.exists():
        fresh = generate(departments)
        if keep_dev_data_key:
            fresh[DATA_KEYS] = f"{fresh[DATA_KEYS]},{DEV_DATA_KEYS}"
        try:
            write_env_file(path, fresh)
            return fresh, True
        except FileExistsError:
            pass  # another first start made it meanwhile: use that one
    values = read_env_file(path)
    missing = {n: v for n, v in generate(departments).items() if n not in values}
    if missing:
        values.update(missing)
        write_env_file(path, values, replace=True)
    return values, False


def gateway_settings(values: Mapping[str, str]) -> GatewaySettings:
    """Settings from the environment, with `values` (environment names) for what
    the environment does not set."""
    given: dict[str, Any] = {
        name.removeprefix(PREFIX).lower(): value
        for name, value in values.items()
        if name.startswith(PREFIX) and name not in os.environ
    }
    return GatewaySettings(**given)


def operator_settings() -> GatewaySettings:
    """The settings of an operator's command (`keys`, `births`, `dead`, `migrate`):
    the environment, plus the env file of `birthlink up` when one exists beside
    a SQLite database (or is named by `BIRTHLINK_SECRETS_FILE`), so that those
    commands open what `up` sealed. Never a stray file for a PostgreSQL store."""
    url = GatewaySettings().database_url
    if not os.environ.get(SECRETS_FILE) and make_url(url).get_backend_name() != "sqlite":
        return GatewaySettings()
    path = default_secrets_file(url)
    return gateway_settings(read_env_file(path) if path.is_file() else {})
