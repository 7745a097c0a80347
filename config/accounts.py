"""Settings of officer accounts: how long a sign-in lasts, how failed sign-ins are throttled, how much password
hashing may run at once."""
from __future__ import annotations

from pydantic import Field, model_validator

from tichwatch.config.base import StrictModel


class AccountSettings(StrictModel):
    """Officer sign-in: session length, throttling of failed sign-ins, and the bound on password hashing."""

    session_ttl_s: int = Field(43200, ge=60, description="How long a sign-in lasts before the officer signs in "
                               "again, seconds.")
    login_window_s: int = Field(900, ge=60, le=86400, description="Period over which failed sign-ins are counted, "
                                "seconds (at most a day: retention keeps failed sign-ins one day).")
    login_failures_per_account_address: int = Field(5, ge=1, description="Failed sign-ins one client address may make "
                                                    "for one account within the window; more are refused (429) "
                                                    "without checking the password. Other addresses are not "
                                                    "affected, so a guesser cannot lock the officer out.")
    login_failures_per_address: int = Field(20, ge=1, description="Failed sign-ins one client address may make "
                                            "across all accounts within the window (password spraying). Officers "
                                            "behind one shared address (a commune office's NAT) share this bound.")
    login_failures_per_account: int = Field(100, ge=0, description="Failed sign-ins for one account from all "
                                            "addresses together within the window (guessing from many addresses); "
                                            "reaching it refuses the account from every address until the window "
                                            "passes, so keep it well above the per-address figures; 0 = no bound.")
    password_hash_concurrency: int = Field(2, ge=1, le=64, description="Password hashes (argon2id, 64 MiB each) "
                                           "computed at once: memory for hashing stays under 64 MiB times this.")
    password_hash_queue: int = Field(8, ge=0, le=1000, description="Sign-ins that may wait for a hashing slot; more "
                                     "are refused at once (503 with Retry-After).")
    password_hash_wait_s: float = Field(5.0, gt=0, le=60, description="Longest a sign-in waits for a hashing slot "
                                        "before it is refused (503 with Retry-After), seconds.")

    @model_validator(mode="after")
    def _bounds_nest(self) -> AccountSettings:
        if self.login_failures_per_address < self.login_failures_per_account_address:
            raise ValueError("login_failures_per_address must be at least login_failures_per_account_address")
        if 0 < self.login_failures_per_account < self.login_failures_per_account_address:
            raise ValueError("login_failures_per_account must be 0 (no bound) or at least "
                             "login_failures_per_account_address")
        return self
