"""The connector's URLs (bot.connector.ServiceUrl): each path joined to the service URL exactly
as msrest's urljoin joins it, whether by the kept prefix or by urljoin itself."""

from __future__ import annotations

import itertools
from urllib.parse import quote, urljoin

import pytest

from bot.connector import ServiceUrl

BASES = (
    "https://smba.trafficmanager.net/amer",
    "https://smba.trafficmanager.net/amer/",
    "https://smba.trafficmanager.net/teams/emea/",
    "http://127.0.0.1:3978",
    "https://h/a/b/../c",
    "https://h/a/./b",
    "https://h/a?q=1",
    "https://h/a#f",
    "https://h",
    "http://h:80/x//y",
)
IDS = (
    "a:chat-amara",
    "19:abc@thread.tacv2;messageid=1",
    "a:zq!mk/1?x#y",
    ".",
    "..",
    "",
    "Zoë",
    " x",
    "~-_.",
)


def msrest(base: str, path: str) -> str:
    return urljoin(base + "/", path.lstrip("/"))


@pytest.mark.parametrize("base", BASES)
def test_every_connector_path_joins_as_urljoin_joins_it(base: str) -> None:
    url = ServiceUrl()
    for first, second in itertools.product(IDS, repeat=2):
        path = f"/v3/conversations/{quote(first, safe='')}/activities/{quote(second, safe='')}"
        assert url.join(base, path) == msrest(base, path)


@pytest.mark.parametrize(
    "path",
    ["/v3/./x", "/v3/../x", "/v3//x", "v3/x?y=1", "/v3/x#f", "a:b/c", " /v3", "/v3/\tx", "/"],
)
def test_a_path_the_prefix_would_get_wrong_is_joined_by_urljoin(path: str) -> None:
    url = ServiceUrl()
    for base in BASES:
        assert url.join(base, path) == msrest(base, path)


def test_a_new_service_url_gets_its_own_prefix() -> None:
    url = ServiceUrl()
    path = "/v3/conversations/a%3Ab/activities"
    first = url.join("https://smba.trafficmanager.net/amer", path)
    second = url.join("https://smba.trafficmanager.net/emea/", path)
    assert first == "https://smba.trafficmanager.net/amer/v3/conversations/a%3Ab/activities"
    assert second == "https://smba.trafficmanager.net/emea/v3/conversations/a%3Ab/activities"
