"""OS::Heat::RandomString: a generated secret string.

Properties as in Heat: ``length``, ``character_classes`` (each a class and
a minimum count), ``character_sequences`` (each literal characters and a
minimum count), ``salt`` (changing it would regenerate on update).  The
value is the ``value`` attribute and also what ``get_resource`` returns;
it is a secret: stored encrypted, never in logs, events or flow results.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

from flowstack import exceptions
from flowstack.resources import base
from flowstack.schema import attributes
from flowstack.schema import properties as p

CLASSES = {
    "lettersdigits": string.ascii_letters + string.digits,
    "letters": string.ascii_letters,
    "lowercase": string.ascii_lowercase,
    "uppercase": string.ascii_uppercase,
    "digits": string.digits,
    "hexdigits": string.digits + "ABCDEF",
    "octdigits": string.octdigits,
}
_MIN = p.Schema(
    p.Schema.INTEGER,
    "Least number of characters of this kind in the string.",
    default=1,
    constraints=[p.Range(1, 512)],
)


class RandomString(base.Resource):
    type_name = "OS::Heat::RandomString"
    description = "A random string, e.g. a password; its value is kept secret."
    secret_reference = True
    properties_schema = {
        "length": p.Schema(
            p.Schema.INTEGER,
            "Length of the string.",
            default=32,
            constraints=[p.Range(1, 512)],
        ),
        "character_classes": p.Schema(
            p.Schema.LIST,
            "Classes of characters to draw from, each with a minimum count.",
            schema=p.Schema(
                p.Schema.MAP,
                schema={
                    "class": p.Schema(
                        p.Schema.STRING,
                        "A class of characters.",
                        default="lettersdigits",
                        constraints=[p.AllowedValues(sorted(CLASSES))],
                    ),
                    "min": _MIN,
                },
            ),
        ),
        "character_sequences": p.Schema(
            p.Schema.LIST,
            "Literal characters to draw from, each with a minimum count.",
            schema=p.Schema(
                p.Schema.MAP,
                schema={
                    "sequence": p.Schema(
                        p.Schema.STRING, "Characters to draw from.", required=True
                    ),
                    "min": _MIN,
                },
            ),
        ),
        "salt": p.Schema(p.Schema.STRING, "Changing it regenerates the value (on stack update)."),
    }
    attributes_schema = {
        "value": attributes.Attribute("The generated string.", secret=True),
    }

    def handle_create(self, properties: dict[str, Any]) -> None:
        self.physical_id = f"{self.stack.name}-{self.name}-{self.stack.id[:8]}"
        if "value" not in self.data:  # a re-executed create keeps the first value
            self.data["value"] = generate(properties, self.name)

    def reference(self) -> Any:
        return self.data.get("value")

    def attributes(self) -> dict[str, Any]:
        return {"value": self.data.get("value")}


def generate(properties: dict[str, Any], name: str = "") -> str:
    """A string of ``length`` meeting every class/sequence minimum."""
    pools: list[tuple[str, int]] = [
        (CLASSES[item.get("class") or "lettersdigits"], item.get("min") or 1)
        for item in properties.get("character_classes") or []
    ]
    pools += [
        (item["sequence"], item.get("min") or 1)
        for item in properties.get("character_sequences") or []
        if item.get("sequence")
    ]
    if not pools:
        pools = [(CLASSES["lettersdigits"], 1)]
    length = properties.get("length") or 32
    required = sum(minimum for _, minimum in pools)
    if required > length:
        raise exceptions.ResourceFailure(
            resource=name,
            action="CREATE",
            reason=(
                f"length {length} is shorter than the {required} characters the minimums require"
            ),
        )
    chosen = [secrets.choice(chars) for chars, minimum in pools for _ in range(minimum)]
    alphabet = "".join(sorted({c for chars, _ in pools for c in chars}))
    chosen += [secrets.choice(alphabet) for _ in range(length - required)]
    secrets.SystemRandom().shuffle(chosen)
    return "".join(chosen)
