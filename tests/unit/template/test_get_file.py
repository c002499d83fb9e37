"""get_file: the files map's text replaces the call when the template is loaded."""

from __future__ import annotations

import pytest

from flowstack import exceptions, template
from flowstack.template import files

TEMPLATE = """
heat_template_version: 2018-08-31
resources:
  web:
    type: OS::Heat::TestResource
    properties:
      value: {get_file: boot.sh}
      metadata: [{get_file: conf/app.ini}, plain]
outputs:
  script: {value: {get_file: boot.sh}}
"""


def test_every_call_becomes_the_files_text() -> None:
    loaded = template.parse(TEMPLATE, {"boot.sh": "#!/bin/sh\necho hi\n", "conf/app.ini": "[a]"})
    data = loaded.to_mapping()
    assert data["resources"]["web"]["properties"] == {
        "value": "#!/bin/sh\necho hi\n",
        "metadata": ["[a]", "plain"],
    }
    assert data["outputs"]["script"]["value"] == "#!/bin/sh\necho hi\n"


def test_a_file_missing_from_the_map_is_named_with_its_place_and_line() -> None:
    with pytest.raises(exceptions.TemplateInvalid) as caught:
        template.parse(TEMPLATE, {"boot.sh": "x"})
    [error] = caught.value.errors
    assert error.path == "resources.web.properties.metadata[0].get_file"
    assert error.line == 8
    assert "'conf/app.ini' is not in the files map (files given: boot.sh)" in error.message


def test_a_call_without_a_name_is_refused() -> None:
    _, errors = files.inline({"a": {"get_file": ["x"]}}, {"x": "y"})
    assert [str(e) for e in errors] == ["a.get_file: get_file needs a file name, got a list"]


def test_names_are_found_for_a_client_to_send() -> None:
    data = {"a": [{"get_file": "one"}, {"b": {"get_file": "two"}}], "c": {"get_file": 3}}
    assert files.names(data) == {"one", "two"}
