"""Which agencies list a Teams tenant (Directory.agencies_of_tenant): each agency that lists it,
by id, whatever case the tenant id is written in, and none for a tenant nobody lists."""

from __future__ import annotations

from escalation.directory import Agency, Directory

SHARED = "6A1B0C2D-0000-4000-8000-00000000000A"  # one tenant for two agencies (a shared NHS one)


def directory() -> Directory:
    return Directory.of(
        [],
        [
            Agency.of("nhs-trust", [SHARED, "11111111-2222-4333-8444-555555555555"]),
            Agency.of("council", ["aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"]),
            Agency.of("icb", [SHARED.lower()]),
            Agency.of("housing", []),
        ],
    )


def test_each_agency_that_lists_the_tenant_by_id() -> None:
    found = directory()
    assert found.agencies_of_tenant(SHARED) == ["icb", "nhs-trust"]
    assert found.agencies_of_tenant(f"  {SHARED.lower()} ") == ["icb", "nhs-trust"]
    assert found.agencies_of_tenant("AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE") == ["council"]


def test_nobody_lists_an_unknown_or_missing_tenant() -> None:
    found = directory()
    assert found.agencies_of_tenant("99999999-9999-4999-8999-999999999999") == []
    assert found.agencies_of_tenant(None) == []
    assert found.agencies_of_tenant("") == []


def test_the_answer_is_the_callers_own() -> None:
    found = directory()
    found.agencies_of_tenant(SHARED).append("stranger")
    assert found.agencies_of_tenant(SHARED) == ["icb", "nhs-trust"]


def test_it_agrees_with_asking_each_agency() -> None:
    found = directory()
    for tenant in (SHARED, SHARED.lower(), "11111111-2222-4333-8444-555555555555", "x", ""):
        expected = sorted(a.id for a in found.agencies.values() if a.lists(tenant))
        assert found.agencies_of_tenant(tenant) == expected
