"""Settings -> the back office's policies and keys: the one place that reads ``settings.cases``
for the worker, the CLI and the web app (composition only, the rules live in cases/)."""

from __future__ import annotations

from cases.deadlines import DeadlinePolicy
from cases.intake import IntakePolicy
from cases.payments import derive_secret
from cases.submissions import SubmissionPolicy
from phatnguoi.settings import Settings


def intake_policy(settings: Settings) -> IntakePolicy:
    c = settings.cases
    return IntakePolicy(
        case_prefix=c.case_prefix, notify_days=c.notify_days, expiry_days=c.expiry_days, merge_window_s=c.merge_window_s
    )


def deadline_policy(settings: Settings) -> DeadlinePolicy:
    c = settings.cases
    return DeadlinePolicy(
        warning_days=c.warning_days, payment_days=c.payment_days, late_interest_per_day=c.late_interest_per_day
    )


def submission_policy(settings: Settings) -> SubmissionPolicy:
    c = settings.cases
    return SubmissionPolicy(
        verify_days=c.verify_days,
        verify_days_complex=c.verify_days_complex,
        notify_days=c.notify_days,
        expiry_days=c.expiry_days,
        case_prefix=c.case_prefix,
    )


def pii_keys(settings: Settings) -> str:
    """The key list for ``cases.pii.PiiCipher``: the current key first (it encrypts), then the old
    ones (they only decrypt until ``phatnguoi cases rotate-pii`` has run)."""
    current = settings.security.pii_key.get_secret_value()
    old = settings.cases.pii_old_keys.get_secret_value()
    return ",".join(k for k in (current, old) if k)


def payment_secret(settings: Settings) -> str:
    given = settings.cases.payment_callback_secret.get_secret_value()
    return given or derive_secret(settings.security.secret_key.get_secret_value())
