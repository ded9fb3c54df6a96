"""XML bodies of the immunisation registry, read safely and as JSON-like values.

Reading goes through defusedxml with DTDs forbidden, so entity expansion and
external entities never happen. An element becomes its text when it has neither
attributes nor children, else an object of its attributes and children; a child
that repeats becomes a list. ``<Hospital code="H1"/>`` → ``{"code": "H1"}``,
which is also what the dotted field names of reject rules reach into.
"""

from typing import Any
from xml.etree import ElementTree

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from sandbox.errors import MalformedXmlError

TEXT_KEY = "_text"
"""Where the text of an element with attributes or children goes."""


def parse(raw: bytes, root: str) -> dict[str, Any]:
    """The content of the document ``raw`` whose root element must be ``root``."""
    try:
        element = fromstring(raw, forbid_dtd=True)
    except DefusedXmlException:
        raise MalformedXmlError("DTDs and entities are not accepted") from None
    except ElementTree.ParseError as exc:
        line, column = exc.position
        raise MalformedXmlError(f"not well-formed XML (line {line}, column {column})") from None
    if _local(element.tag) != root:
        raise MalformedXmlError(f"root element must be <{root}>")
    value = _value(element)
    return value if isinstance(value, dict) else {}


def render(root: str, children: dict[str, str]) -> bytes:
    """``<root><name>text</name>…</root>`` with an XML declaration, UTF-8."""
    element = ElementTree.Element(root)
    for name, text in children.items():
        ElementTree.SubElement(element, name).text = text
    document: bytes = ElementTree.tostring(element, encoding="utf-8", xml_declaration=True)
    return document


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _value(element: Any) -> Any:
    text = (element.text or "").strip()
    children = list(element)
    if not children and not element.attrib:
        return text
    obj: dict[str, Any] = {_local(name): value for name, value in element.attrib.items()}
    if text:
        obj[TEXT_KEY] = text
    for child in children:
        name, value = _local(child.tag), _value(child)
        if name not in obj:
            obj[name] = value
        elif isinstance(obj[name], list):
            obj[name].append(value)
        else:
            obj[name] = [obj[name], value]
    return obj
