"""What a failed placement says about the order: ambiguous, retry, unreachable, session,
refused; and descriptions never carry the request (it holds the access token)."""

from __future__ import annotations

import pytest
import requests
from kiteconnect import exceptions as kex

from actors.kite.calls import Outcome, describe, outcome_of


@pytest.mark.parametrize(
    ("exc", "outcome"),
    [
        (requests.exceptions.ReadTimeout("read timed out"), Outcome.AMBIGUOUS),
        (requests.exceptions.ConnectionError("Connection reset by peer"), Outcome.AMBIGUOUS),
        (kex.NetworkException("Service unavailable", code=503), Outcome.AMBIGUOUS),
        (kex.GeneralException("gateway", code=502), Outcome.AMBIGUOUS),
        (kex.DataException("Couldn't parse the JSON response"), Outcome.AMBIGUOUS),
        (kex.NetworkException("Too many requests", code=429), Outcome.RETRY),
        (requests.exceptions.ConnectTimeout("connect timed out"), Outcome.UNREACHABLE),
        (requests.exceptions.ConnectionError("NewConnectionError: [Errno 111] Connection refused"),
         Outcome.UNREACHABLE),
        (kex.TokenException("Incorrect `api_key` or `access_token`.", code=403), Outcome.SESSION),
        (kex.InputException("Tag length should be less than or equal to 20 chars.", code=400),
         Outcome.REFUSED),
        (kex.OrderException("Order not found", code=400), Outcome.REFUSED),
        (RuntimeError("anything else"), Outcome.AMBIGUOUS),
    ],
)  # fmt: skip
def test_a_failed_placement_is_sorted_by_what_it_says_about_the_order(
    exc: Exception, outcome: Outcome
) -> None:
    assert outcome_of(exc) is outcome


def test_a_description_names_the_failure_and_nothing_of_the_request() -> None:
    exc = requests.exceptions.ConnectionError("token kitesim:secret-access-token refused")
    assert "secret-access-token" not in describe(exc)
    assert describe(kex.TokenException("expired", code=403)) == "TokenException (403): expired"
