"""The words the parts of the bot share: risk levels and distress indicators.

They are the names in `shared/CONTRACTS.md` (cases carry indicators as labels, reports count
them), so each lives here once, as an enum whose values are those names.
"""

from __future__ import annotations

from enum import StrEnum


class Risk(StrEnum):
    """How much danger a message shows: `urgent` is danger now, `concern` is indicators
    without danger now, `none` includes informational mentions of trafficking."""

    NONE = "none"
    CONCERN = "concern"
    URGENT = "urgent"


class Indicator(StrEnum):
    """The ILO's 11 indicators of forced labour, then the others hotline staff look for."""

    ABUSE_OF_VULNERABILITY = "abuse_of_vulnerability"
    DECEPTION = "deception"
    RESTRICTION_OF_MOVEMENT = "restriction_of_movement"
    ISOLATION = "isolation"
    VIOLENCE = "violence"
    INTIMIDATION = "intimidation"
    DOCUMENT_RETENTION = "document_retention"
    WAGE_WITHHOLDING = "wage_withholding"
    DEBT_BONDAGE = "debt_bondage"
    ABUSIVE_CONDITIONS = "abusive_conditions"
    EXCESSIVE_OVERTIME = "excessive_overtime"
    MINOR = "minor"
    FORGED_DOCUMENTS = "forged_documents"
    SEXUAL_EXPLOITATION = "sexual_exploitation"
    FORCED_CRIMINALITY = "forced_criminality"
