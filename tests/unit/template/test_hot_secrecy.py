"""Which resources are tainted by secrets: what they expose may echo one."""

import textwrap

from flowstack import template
from flowstack.template import secrecy


def test_taint_follows_functions_and_attributes_but_not_references(types):
    tpl = template.parse(
        "heat_template_version: 2018-08-31\n"
        + textwrap.dedent("""
        parameters:
          pw: {type: string, hidden: true}
          flavor: {type: string}
        resources:
          random: {type: OS::Heat::RandomString}
          direct:
            type: OS::Nova::Server
            properties:
              flavor: {get_param: flavor}
              image: cirros
              user_data: {str_replace: {template: "pw=$p", params: {$p: {get_param: pw}}}}
          through_reference:
            type: OS::Nova::Server
            properties: {flavor: x, image: {list_join: ["-", [{get_resource: random}]]}}
          downstream:
            type: OS::Nova::Server
            properties: {flavor: x, image: {get_attr: [direct, first_address]}}
          by_id_only:
            type: OS::Nova::Server
            properties: {flavor: x, image: {get_resource: direct}}
          clean:
            type: OS::Nova::Server
            properties: {flavor: {get_param: flavor}, image: cirros}
    """)
    )
    assert secrecy.tainted_resources(tpl, types) == {"direct", "through_reference", "downstream"}
    downstream = tpl.resources["downstream"].properties
    assert secrecy.concealed_keys(downstream, tpl, types) == {"image"}
    assert secrecy.concealed_keys(tpl.resources["by_id_only"].properties, tpl, types) == set()
