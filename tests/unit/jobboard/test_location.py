"""``[jobboard] url`` taken apart: every backend's URL form, and errors that name the option."""

from __future__ import annotations

import pytest

from flowstack import exceptions
from flowstack.jobboard import location


def test_a_sentinel_url_with_credentials_and_fallbacks() -> None:
    parsed = location.parse(
        "redis://flow%40stack:pa%3Ass@s1:26379,[::1]:26380/2"
        "?sentinel=mymaster&sentinel_fallback=s3:26381&sentinel_password=hidden"
    )
    assert parsed.scheme == "redis"
    assert parsed.servers == (("s1", 26379), ("::1", 26380))
    assert (parsed.username, parsed.password, parsed.path) == ("flow@stack", "pa:ss", "/2")
    assert parsed.option("sentinel") == "mymaster"
    assert parsed.options["sentinel_fallback"] == ["s3:26381"]
    safe = parsed.safe()
    assert "pa:ss" not in safe and "hidden" not in safe
    assert safe.startswith("redis://flow%40stack:***@s1:26379,[::1]:26380/2?")
    assert "sentinel_password=***" in safe


def test_a_zookeeper_connect_string_keeps_its_chroot() -> None:
    parsed = location.parse("zookeeper://z1:2181,z2,z3:2182/apps/flowstack")
    assert parsed.servers == (("z1", 2181), ("z2", None), ("z3", 2182))
    assert parsed.path == "/apps/flowstack"
    assert parsed.servers_with(2181)[1] == ("z2", 2181)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("127.0.0.1:6379", "is not a URL"),
        ("redis://", "no server"),
        ("redis://host:99999/0", "port '99999' of host"),
        ("redis://host:abc", "port 'abc'"),
        ("redis://ho st:6379", "'ho st:6379' is not a host"),
    ],
)
def test_a_url_that_cannot_be_parsed_names_the_option(url: str, words: str) -> None:
    with pytest.raises(exceptions.ConfigError) as caught:
        location.parse(url)
    assert str(caught.value).startswith("[jobboard] url: ")
    assert words in str(caught.value)


def test_the_password_of_a_url_that_is_not_one_is_hidden() -> None:
    with pytest.raises(exceptions.ConfigError) as caught:
        location.parse("//user:hunter2@host")
    assert "hunter2" not in str(caught.value)


def test_options_are_checked_against_what_the_backend_knows() -> None:
    parsed = location.parse("redis://h?ssl=maybe&sentinel=a&sentinel=b")
    with pytest.raises(exceptions.ConfigError, match="unknown option 'ssl'"):
        parsed.check_options({"sentinel"})
    with pytest.raises(exceptions.ConfigError, match="'sentinel' is given 2 times"):
        parsed.check_options({"sentinel", "ssl"})
    with pytest.raises(exceptions.ConfigError, match="'ssl' must be true or false"):
        parsed.flag("ssl")


@pytest.mark.parametrize("namespace", ["", "a/b", "a b", "..", "ü"])
def test_a_namespace_that_cannot_name_keys_and_paths(namespace: str) -> None:
    with pytest.raises(exceptions.ConfigError, match=r"^\[jobboard\] namespace: "):
        location.check_namespace(namespace)
