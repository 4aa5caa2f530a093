from __future__ import annotations

from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field

# The bodies a client sends are plain pydantic models: ninja's Schema also reads ORM objects
# through a wrapping validator, which would cost every statement 0.1 ms for nothing.


class ResidenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = Field(
        None, description="The country of residence, which may be outside the EU."
    )


class StatementIn(BaseModel):
    """A statement of support. Which fields are required depends on the nationality:
    Part A states need names, date of birth and residence; Part B states need names,
    ID type and ID number (see `quorum rules show`)."""

    model_config = ConfigDict(extra="forbid")

    nationality: str | None = Field(None, description="Member State code, e.g. PL (EL for Greece).")
    first_names: str | None = None
    family_names: str | None = None
    date_of_birth: str | None = Field(None, description="YYYY-MM-DD (Part A).")
    residence: ResidenceIn | None = None
    id_type: str | None = Field(
        None, description="An ID type code accepted for the nationality (Part B)."
    )
    id_number: str | None = None
    altcha: str | None = Field(None, description="The solved proof-of-work payload (base64 JSON).")
    via: str | None = Field(
        None,
        description="The code of the coalition partner whose link the signatory came by; it "
        "goes into the statement's public leaf. A code the initiative does not have is ignored.",
    )


class ReceiptOut(Schema):
    receipt: str = Field(description="The leaf hash of the sealed statement, 64 hex digits.")


class ErrorsOut(Schema):
    errors: dict[str, list[str]]


class ChallengeOut(Schema):
    algorithm: str
    challenge: str
    maxnumber: int
    salt: str
    signature: str
