"""What every Quorate workflow shares: timeouts, retry policies, fan-out, failure mapping."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, NoReturn, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from activities.coordinator import CoordinatorActivities
    from activities.ecdsa_party import EcdsaPartyActivities
    from activities.models import (
        CeremonyFailedInput,
        DiscardNoncesInput,
        DiscardNoncesResult,
        DiscardPresignatureInput,
        Model,
    )
    from activities.party import PartyActivities
    from runtime.names import party_task_queue

ParamT = TypeVar("ParamT", bound=Model)
ResultT = TypeVar("ResultT")

# A party round is milliseconds of work; a start-to-close timeout of a few seconds
# notices a crashed worker quickly, and retries continue for two minutes.
PARTY_ROUND_TIMEOUT = timedelta(seconds=5)
PARTY_ROUND_DEADLINE = timedelta(minutes=2)
PARTY_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=2),
)
# Threshold-ECDSA steps do seconds of Paillier arithmetic (3072-bit moduli, range proofs),
# and generating auxiliary information includes finding safe primes.
PARTY_SLOW_TIMEOUT = timedelta(minutes=3)
PARTY_SLOW_DEADLINE = timedelta(minutes=15)
# Destroying a failed ceremony's nonces: best effort for a minute per party (a party that
# is down is named as unreachable in the record).
DISCARD_DEADLINE = timedelta(minutes=1)
COORDINATOR_TIMEOUT = timedelta(seconds=30)
# Verifying every signer's identification proofs to every verifier: seconds for three
# signers at 3072 bits, (n − 1)(n + 1) proofs per signer for n.
IDENTIFICATION_TIMEOUT = timedelta(minutes=10)

# Patches (workflow.patched) of the ceremonies' commands; histories recorded before them
# replay on the old path.
# A failed signing waits for every party's round to finish, then destroys the nonces
# (FROST) or presignature (ECDSA) the ceremony left, and says so in CeremonyFailed.
NONCE_CLEANUP_PATCH = "discard-nonces-of-failed-ceremonies"
# A threshold-ECDSA abort runs CGGMP21's identification (the δ openings in presigning,
# the χ proofs in signing) to name its culprit before the ceremony fails.
ECDSA_IDENTIFICATION_PATCH = "ecdsa-identifiable-abort"
COORDINATOR_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=100),
    maximum_interval=timedelta(seconds=2),
    maximum_attempts=10,
)


async def fan_out(
    activity: Callable[[Any, ParamT], ResultT],
    inputs: Mapping[str, ParamT],
    *,
    slow: bool = False,
    settle: bool = False,
) -> dict[str, ResultT]:
    """One activity per party, each on that party's own task queue, run concurrently.

    ``settle``: on a failure, wait until every party's activity has ended before raising
    the first failure (in party order), so that nothing is still running at a party when
    the caller cleans up, and every party's answer is in the history.
    """
    parties = sorted(inputs)
    calls = _party_calls(activity, inputs, slow=slow)
    if not settle:
        results = await asyncio.gather(*calls)
        return dict(zip(parties, results, strict=True))
    settled = await asyncio.gather(*calls, return_exceptions=True)
    by_party: dict[str, ResultT] = {}
    for party, outcome in zip(parties, settled, strict=True):
        if isinstance(outcome, BaseException):
            raise outcome
        by_party[party] = outcome
    return by_party


def _party_calls(
    activity: Callable[[Any, ParamT], ResultT], inputs: Mapping[str, ParamT], *, slow: bool
) -> list[Awaitable[ResultT]]:
    """The activity on each party's queue, in party order (not yet awaited)."""
    return [
        workflow.execute_activity_method(
            activity,
            inputs[party],
            task_queue=party_task_queue(party),
            start_to_close_timeout=PARTY_SLOW_TIMEOUT if slow else PARTY_ROUND_TIMEOUT,
            schedule_to_close_timeout=PARTY_SLOW_DEADLINE if slow else PARTY_ROUND_DEADLINE,
            retry_policy=PARTY_RETRY,
            summary=f"{activity.__name__} @ {party}",
        )
        for party in sorted(inputs)
    ]


async def fan_out_outcomes(
    activity: Callable[[Any, ParamT], ResultT],
    inputs: Mapping[str, ParamT],
    *,
    slow: bool = False,
) -> dict[str, ResultT | BaseException]:
    """Like :func:`fan_out` with ``settle``, but every party's outcome, failures included:
    for the steps where who failed, and how, is the answer (identification)."""
    parties = sorted(inputs)
    settled = await asyncio.gather(
        *_party_calls(activity, inputs, slow=slow), return_exceptions=True
    )
    return dict(zip(parties, settled, strict=True))


async def discard_nonces(wallet_id: str, ceremony_id: str, signers: Sequence[str]) -> str:
    """Destroys a failed FROST ceremony's nonces at every signer; what the record says."""
    return await _discard(
        "nonces",
        PartyActivities.discard_nonces,
        {p: DiscardNoncesInput(wallet_id=wallet_id, ceremony_id=ceremony_id) for p in signers},
    )


async def discard_presignature(wallet_id: str, presign_id: str, signers: Sequence[str]) -> str:
    """Destroys a presignature (or its presigning state) at every signer; the record."""
    return await _discard(
        f"presignature {presign_id}",
        EcdsaPartyActivities.discard_presignature,
        {p: DiscardPresignatureInput(wallet_id=wallet_id, presign_id=presign_id) for p in signers},
    )


DISCARD_LABELS = {
    "destroyed": "destroyed",
    "none": "none stored",
    "already-discarded": "already destroyed",
    "used": "already used",
    "unreachable": "unreachable",
}


async def _discard(
    what: str,
    activity: Callable[[Any, ParamT], DiscardNoncesResult],
    inputs: Mapping[str, ParamT],
) -> str:
    parties = sorted(inputs)
    results = await asyncio.gather(
        *(
            workflow.execute_activity_method(
                activity,
                inputs[party],
                task_queue=party_task_queue(party),
                start_to_close_timeout=PARTY_ROUND_TIMEOUT,
                schedule_to_close_timeout=DISCARD_DEADLINE,
                retry_policy=PARTY_RETRY,
                summary=f"{activity.__name__} @ {party}",
            )
            for party in parties
        ),
        return_exceptions=True,
    )
    outcomes = {
        party: result.outcome if isinstance(result, DiscardNoncesResult) else "unreachable"
        for party, result in zip(parties, results, strict=True)
    }
    return describe_discard(what, outcomes)


def describe_discard(what: str, outcomes: Mapping[str, str]) -> str:
    """``nonces: destroyed 2 (eu-1, us-1), none stored 1 (us-2)``: counts and party ids."""
    groups: dict[str, list[str]] = {}
    for party, outcome in sorted(outcomes.items()):
        groups.setdefault(outcome, []).append(party)
    parts = [
        f"{DISCARD_LABELS.get(outcome, outcome)} {len(named)} ({', '.join(named)})"
        for outcome, named in sorted(groups.items())
    ]
    return f"{what}: {', '.join(parts)}"


async def coordinator(
    activity: Callable[[Any, ParamT], Awaitable[ResultT]],
    arg: ParamT,
    *,
    timeout: timedelta = COORDINATOR_TIMEOUT,
) -> ResultT:
    """A coordinator step: a local activity, next to the workflow (no party secret needed).

    A refused request surfaces as the workflow's own typed, non-retryable failure.
    """
    try:
        return await workflow.execute_local_activity_method(
            activity,
            arg,
            start_to_close_timeout=timeout,
            retry_policy=COORDINATOR_RETRY,
        )
    except ActivityError as error:
        raise_typed(error)


VERIFIED_CULPRITS = "culprits-verified-by-coordinator"
"""Second detail of a failure whose culprits the coordinator proved on public data."""


def verified_failure(kind: str, message: str, culprits: Sequence[str]) -> ApplicationError:
    """The typed failure of an identification: its culprits are proven, not claimed."""
    return ApplicationError(
        message, list(culprits), VERIFIED_CULPRITS, type=kind, non_retryable=True
    )


async def fail_ceremony(
    error: BaseException, ceremony_id: str, wallet_id: str, *, cleanup: str | None = None
) -> NoReturn:
    """Records ``CeremonyFailed`` (naming any culprits, each also in a PartyMisbehaved if
    the coordinator verified them, and what was destroyed of the ceremony's nonces:
    ``cleanup``), then fails the workflow with a typed, non-retryable error of the same
    type as the activity's."""
    kind, message, culprits = failure_of(error)
    verified = (
        isinstance(error, ApplicationError)
        and len(error.details) > 1
        and error.details[1] == VERIFIED_CULPRITS
    )
    reason = f"{kind}: {message}" + (f" [cleanup: {cleanup}]" if cleanup else "")
    await coordinator(
        CoordinatorActivities.record_failed,
        CeremonyFailedInput(
            ceremony_id=ceremony_id,
            wallet_id=wallet_id,
            reason=reason,
            culprits=culprits,
            kind=kind,
            verified=verified,
        ),
    )
    raise_typed(error)


def raise_typed(error: BaseException) -> NoReturn:
    """Fails the workflow with the activity's (or child's) own error type, non-retryable:
    a refusal that will not change on retry is the workflow's answer."""
    kind, message, culprits = failure_of(error)
    raise ApplicationError(message, list(culprits), type=kind, non_retryable=True) from None


def failure_of(error: BaseException) -> tuple[str, str, tuple[str, ...]]:
    """(type, message, culprits) of an activity failure, for events and re-raising."""
    cause = error.cause if isinstance(error, ActivityError | ChildWorkflowError) else error
    if isinstance(cause, ApplicationError):
        culprits = tuple(cause.details[0]) if cause.details else ()
        return cause.type or "ApplicationError", cause.message, culprits
    return type(cause).__name__ if cause else "ActivityError", str(cause or error), ()


async def fan_out_to(
    activity: Callable[[Any, ParamT], ResultT],
    inputs: Mapping[tuple[str, str], tuple[str, ParamT]],
) -> dict[tuple[str, str], ResultT]:
    """One activity per (from, to) pair, each on the named party's queue, concurrently."""
    keys = sorted(inputs)
    results = await asyncio.gather(
        *(
            workflow.execute_activity_method(
                activity,
                inputs[key][1],
                task_queue=party_task_queue(inputs[key][0]),
                start_to_close_timeout=PARTY_SLOW_TIMEOUT,
                schedule_to_close_timeout=PARTY_SLOW_DEADLINE,
                retry_policy=PARTY_RETRY,
                summary=f"{activity.__name__} {key[0]}->{key[1]} @ {inputs[key][0]}",
            )
            for key in keys
        )
    )
    return dict(zip(keys, results, strict=True))
