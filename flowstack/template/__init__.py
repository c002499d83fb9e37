"""HOT templates: parse, validate, and resolve them at run time. Pure code.

The modules, one job each:

- ``versions``: accepted ``heat_template_version`` values and what each allows
- ``bounds``: how large and deep a template's data may be, measured before it is built
- ``loader``: YAML/JSON text to data, with the line of every node
- ``files``: ``get_file`` calls replaced by the files map's text, at load
- ``paths``: dotted paths (``resources.web.properties.flavor``) and their lines
- ``model``: the :class:`Template` structure and the checks it needs nothing else for
- ``parameters``: parameter schemas and user values
- ``functions``: intrinsic functions (parse, references, evaluation)
- ``graph``: dependency cycles and order
- ``validator``: checks against resource types and parameter values
- ``resolution``: run-time resolution of properties and outputs
- ``secrecy``: which values must not appear in messages
"""

from flowstack.template.bounds import Limits
from flowstack.template.graph import dependency_order
from flowstack.template.model import (
    OutputDefinition,
    ParameterGroup,
    ResourceDefinition,
    Template,
    from_mapping,
    parse,
    parse_collecting,
)
from flowstack.template.parameters import PSEUDO_PARAMETERS, ParameterSchema
from flowstack.template.resolution import (
    OutputValue,
    ResolutionContext,
    resolve_metadata,
    resolve_outputs,
    resolve_properties,
)
from flowstack.template.validator import (
    ResourceTypes,
    ValidatedTemplate,
    dependencies,
    static_properties,
    validate,
)

__all__ = [
    "PSEUDO_PARAMETERS",
    "Limits",
    "OutputDefinition",
    "OutputValue",
    "ParameterGroup",
    "ParameterSchema",
    "ResolutionContext",
    "ResourceDefinition",
    "ResourceTypes",
    "Template",
    "ValidatedTemplate",
    "dependencies",
    "dependency_order",
    "from_mapping",
    "parse",
    "parse_collecting",
    "resolve_metadata",
    "resolve_outputs",
    "resolve_properties",
    "static_properties",
    "validate",
]
