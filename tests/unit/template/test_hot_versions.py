"""heat_template_version: Heat's dates and release names, and the features they gate."""

import datetime

import pytest

from flowstack import template
from flowstack.template import versions

DATES = [
    "2013-05-23",
    "2014-10-16",
    "2015-04-30",
    "2015-10-15",
    "2016-04-08",
    "2016-10-14",
    "2017-02-24",
    "2017-09-01",
    "2018-03-02",
    "2018-08-31",
    "2021-04-16",
]
NAMES = {
    "newton": "2016-10-14",
    "ocata": "2017-02-24",
    "pike": "2017-09-01",
    "queens": "2018-03-02",
    "rocky": "2018-08-31",
    "wallaby": "2021-04-16",
}


@pytest.mark.parametrize("date", DATES)
def test_every_heat_date_parses_quoted_and_unquoted(date):
    assert template.parse(f"heat_template_version: {date}\n").version == date
    assert template.parse(f"heat_template_version: '{date}'\n").version == date


@pytest.mark.parametrize(("name", "date"), sorted(NAMES.items()))
def test_release_names_normalise_to_their_date(name, date):
    assert template.parse(f"heat_template_version: {name}\n").version == date


def test_the_table_is_heats():
    assert list(versions.DATES) == DATES
    assert versions.RELEASE_NAMES == NAMES


@pytest.mark.parametrize("bad", ["2013-05-24", "mitaka", "2021-04-16x", "12"])
def test_unknown_version_lists_the_accepted_ones(bad, errors_of):
    (error,) = errors_of(template.parse, f"description: x\nheat_template_version: {bad}\n")
    assert error.path == "heat_template_version"
    assert error.line == 2
    assert "is not a supported heat_template_version" in error.message
    assert "2013-05-23" in error.message and "wallaby" in error.message


def test_missing_version_is_an_error(errors_of):
    (error,) = errors_of(template.parse, "description: no version\n")
    assert error.path == "heat_template_version"
    assert error.message.startswith("is required")


def test_a_date_object_from_another_yaml_loader_is_accepted():
    loaded = template.from_mapping({"heat_template_version": datetime.date(2017, 2, 24)})
    assert loaded.version == "2017-02-24"


def test_features_are_gated_by_date():
    old, new = versions.normalise("2015-04-30"), versions.normalise("2015-10-15")
    assert not old.has("list_join_multiple") and new.has("list_join_multiple")
    assert not versions.normalise("2016-10-14").has("modulo")
    assert versions.normalise("ocata").has("modulo")
    assert not versions.normalise("pike").has("parameter_tags")
    assert versions.normalise("queens").has("parameter_tags")
