"""Verification of Payee as a fraud signal: paying after a check that did not match.

A payer who goes on after being told the name does not match (``NMTC``), or is only close
(``CMTC``: the app showed the holder's real name), is the typical victim of an authorised
push payment scam (a fraudster's account under a trusted name). :func:`payee_check_hits`
turns the check the payment names (its ``vop_check_id``) into screening rule hits, recorded
with the decision (``rule_hits``) and shown to analysts; they never change the outcome: the
rulebook leaves the decision to pay to the payer, and a check that is unknown or not yet
recorded where it is read does not hold the payment up (``vop-check-unknown``).

| hit | when |
|---|---|
| ``vop-no-match`` | the check answered NMTC |
| ``vop-close-match`` | the check answered CMTC |
| ``vop-not-applicable`` | the check answered NOAP (nothing could be checked) |
| ``vop-check-unknown`` | no check with that id can be read now, or it is not one of our
  payers' checks (direction RESPONDER: another PSP's question to us); no outcome hit then |
| ``vop-check-other-payee`` | the check was about another IBAN than the payment's creditor |
| ``vop-check-other-payer`` | the check names a payer account other than the debtor |

Who asked is not compared: the payment does not record the principal that submitted it (a
payment ingested from the broker is recorded by the ingestion service, and its ``channel`` is
a channel code, not the principal that asked for the check), so a check of one channel named
by a payment of another is not told apart. The payer account is compared when the check has
one (the app sent ``payerAccount``).
"""

from __future__ import annotations

import logging

from application.fraud.ports import PayeeChecks
from application.ports import ScreeningRequest

log = logging.getLogger(__name__)

VOP_HITS = {"NMTC": "vop-no-match", "CMTC": "vop-close-match", "NOAP": "vop-not-applicable"}
"""The rule hit of each outcome that is a signal (a match, MTCH, is none)."""
VOP_UNKNOWN = "vop-check-unknown"
VOP_OTHER_PAYEE = "vop-check-other-payee"
VOP_OTHER_PAYER = "vop-check-other-payer"


def payee_check_hits(checks: PayeeChecks | None, request: ScreeningRequest) -> list[str]:
    """The hits for the VoP check ``request`` names (none when it names none)."""
    if request.vop_check_id is None or checks is None:
        return []
    try:
        check = checks.payee_check(request.vop_check_id)
    except Exception as error:  # a lookup failure must not stop a payment
        log.warning("VoP check %s could not be read: %s", request.vop_check_id, error)
        check = None
    if check is None or check.direction != "REQUESTER":
        return [VOP_UNKNOWN]
    hits = []
    if check.iban != request.creditor_iban:
        hits.append(VOP_OTHER_PAYEE)
    if check.payer_iban is not None and check.payer_iban != request.debtor_iban:
        hits.append(VOP_OTHER_PAYER)
    if check.outcome in VOP_HITS:
        hits.append(VOP_HITS[check.outcome])
    return hits


_OUTCOME_OF_HIT = {hit: outcome for outcome, hit in VOP_HITS.items()}


def payee_check_outcome(check_id: str | None, hits: list[str]) -> str:
    """The payee-name check as the ``payee_check`` feature sees it, from the check id the
    payment carries and the screening's rule hits (what is recorded in ``Screened``, so the
    online value and the one replayed from the log are the same): "" for no check, UNKNOWN
    for one that could not be read, the outcome hit's NMTC/CMTC/NOAP, else MTCH."""
    if not check_id:
        return ""
    if VOP_UNKNOWN in hits:
        return "UNKNOWN"
    for hit in hits:
        if hit in _OUTCOME_OF_HIT:
            return _OUTCOME_OF_HIT[hit]
    return "MTCH"
