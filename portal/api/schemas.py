"""Request and response bodies. Inputs are strings: the register's parser normalises them
(full-width digits, spaces) exactly as for the CSV import, and unknown fields are refused."""

import datetime as dt
from typing import Literal

from django.conf import settings
from ninja import Field, Schema
from pydantic import ConfigDict

# Full-width digits and hyphen are accepted and normalised, as in the CSV import.
NUMBER_PATTERN = r"^[0-9０-９]{5}[-－][0-9０-９]{8}$"

# The service's languages (settings.LANGUAGES), so the schema names every accepted value.
LanguageCode = Literal[tuple(code for code, _name in settings.LANGUAGES)]


class JobSeekerIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200, description="Full name")
    name_kana: str = Field(
        max_length=200, description="Name in katakana (hiragana is stored as katakana)"
    )
    email: str = Field(max_length=320, description="E-mail address (the My Page login ID)")
    birth_date: str = Field(max_length=20, description="Birth date (YYYY-MM-DD)")
    office: str = Field("", max_length=200, description="Hello Work office")
    language: LanguageCode | None = Field(
        None,
        description="The job seeker's own language (their mails, the printed guide); "
        "left out: unchanged (a new job seeker gets the default)",
    )


class Account(Schema):
    state: Literal["pending", "active", "locked", "closed"]
    locked_until: dt.datetime | None
    opened_at: dt.datetime | None
    last_login: dt.datetime | None


class Mail(Schema):
    kind: str
    status: str
    created_at: dt.datetime


class JobSeekerOut(Schema):
    number: str
    name: str
    name_kana: str
    email: str
    birth_date: dt.date
    office: str
    language: LanguageCode
    version: int
    account: Account
    mails: list[Mail]


class BatchRow(JobSeekerIn):
    number: str = Field(max_length=30, description="Job seeker number (NNNNN-NNNNNNNN)")


class BatchIn(Schema):
    model_config = ConfigDict(extra="forbid")

    rows: list[BatchRow] = Field(min_length=1, max_length=1000)


class RowError(Schema):
    field: str
    message: str


class RowResult(Schema):
    index: int
    number: str
    result: Literal["created", "updated", "unchanged", "rejected"]
    errors: list[RowError]


class BatchOut(Schema):
    created: int
    updated: int
    unchanged: int
    rejected: int
    rows: list[RowResult]


class EmailChangeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320, description="New e-mail address")


class UnlockOut(Schema):
    number: str
    locks_cleared: int


class FeedEventOut(Schema):
    cursor: str
    number: str
    type: Literal[
        "account_opened",
        "account_locked",
        "account_unlocked",
        "address_changed",
        "closed",
        "reopened",
        "mail_failed",
    ]
    time: dt.datetime


class FeedPage(Schema):
    events: list[FeedEventOut]
    next: str | None = Field(description="pass as `after` for the next page")
