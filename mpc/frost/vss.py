"""Shamir secret sharing with Feldman commitments (RFC 9591 Appendix C).

A dealer, real (in tests) or virtual (each DKG participant), samples a polynomial of
degree ``t - 1`` whose constant term is the secret, hands party ``i`` the value ``f(i)``
and publishes ``G * a_k`` for every coefficient, so each party can check its share.
"""

from __future__ import annotations

from collections.abc import Sequence

from mpc.frost.identifier import Identifier
from mpc.group import Element, Group, Scalar


def evaluate_polynomial(coefficients: Sequence[Scalar], x: Scalar) -> Scalar:
    """RFC 9591 Appendix C.1 polynomial_evaluate, by Horner's rule."""
    value = coefficients[0].group.scalar(0)
    for coefficient in reversed(coefficients):
        value = value * x + coefficient
    return value


def vss_commit(group: Group, coefficients: Sequence[Scalar]) -> tuple[Element, ...]:
    """RFC 9591 Appendix C.2 vss_commit: ``G * a_k`` for every coefficient."""
    return tuple(group.base_mul(coefficient) for coefficient in coefficients)


def evaluate_commitment(commitment: Sequence[Element], identifier: Identifier) -> Element:
    """``sum_k C_k * i^k``: the public image ``G * f(i)`` of party ``i``'s share."""
    power = identifier.scalar.group.scalar(1)
    result = commitment[0].group.identity()
    for element in commitment:
        result = result + element * power
        power = power * identifier.scalar
    return result


def vss_verify(
    group: Group, identifier: Identifier, share: Scalar, commitment: Sequence[Element]
) -> bool:
    """RFC 9591 Appendix C.2 vss_verify: ``G * f(i) == sum_k C_k * i^k``."""
    return group.base_mul(share) == evaluate_commitment(commitment, identifier)
