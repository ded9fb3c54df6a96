"""Settings of the sandbox process (environment prefix ``BIRTHLINK_``)."""

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DepartmentName = Literal["nhc", "cdc", "mps", "nhsa", "hrss", "wjw"]


class SandboxSettings(BaseSettings):
    """Where callbacks go, how they are signed, and how long later answers take.

    The secrets are the ones the gateway reads too (``BIRTHLINK_MPS_SECRET`` …),
    with development defaults (``dev-mps-secret``) for local runs.
    """

    model_config = SettingsConfigDict(env_prefix="BIRTHLINK_", extra="ignore")

    gateway_url: str = "http://127.0.0.1:8000"
    nhc_secret: SecretStr = SecretStr("dev-nhc-secret")
    cdc_secret: SecretStr = SecretStr("dev-cdc-secret")
    mps_secret: SecretStr = SecretStr("dev-mps-secret")
    nhsa_secret: SecretStr = SecretStr("dev-nhsa-secret")
    hrss_secret: SecretStr = SecretStr("dev-hrss-secret")
    wjw_secret: SecretStr = SecretStr("dev-wjw-secret")
    later_delay_s: float = Field(default=1.5, ge=0)
    """Default time a review (mps) or card making (hrss) takes; faults override it."""
    keep_alive_s: int = Field(default=75, ge=1)
    """How long an idle connection is kept, as by a department behind a common web
    server (nginx: 75 s): longer than the adapters' pool keeps one (httpx: 5 s)."""
    sweep_interval_s: float = Field(default=0.1, gt=0)
    """How often the background loop looks for later answers that are due."""
    callback_attempts: int = Field(default=5, ge=1)
    """Deliveries of one callback before giving up (the gateway will poll)."""
    callback_backoff_s: float = Field(default=0.2, ge=0)
    """First pause between callback attempts; doubles after each failure."""

    def secret_for(self, department: DepartmentName) -> str:
        """The HMAC secret that signs ``department``'s callbacks."""
        secrets: dict[str, SecretStr] = {
            "nhc": self.nhc_secret,
            "cdc": self.cdc_secret,
            "mps": self.mps_secret,
            "nhsa": self.nhsa_secret,
            "hrss": self.hrss_secret,
            "wjw": self.wjw_secret,
        }
        return secrets[department].get_secret_value()
